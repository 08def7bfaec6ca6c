"""Runs commands. Deliberately unsafe: the RepoGuard demo's example of a refusal."""

import os
import subprocess

# Runs a shell command taken from the environment as soon as the package is
# imported: whoever controls that variable runs code in your kernel.
INIT_OUTPUT = subprocess.check_output(os.environ.get("SHELL_RUNNER_INIT", "true"), shell=True, text=True)


def run(command: str) -> str:
    """Run command through the shell and return its output (command injection!)."""
    return subprocess.check_output(command, shell=True, text=True)


def evaluate(expression: str):
    """Evaluate an expression from the user (arbitrary code execution!)."""
    return eval(expression)
