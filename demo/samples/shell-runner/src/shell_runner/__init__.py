"""Runs commands. Deliberately unsafe: the RepoGuard demo's example of a refusal."""

import subprocess


def run(command: str) -> str:
    """Run command through the shell and return its output (command injection!)."""
    return subprocess.check_output(command, shell=True, text=True)


def evaluate(expression: str):
    """Evaluate an expression from the user (arbitrary code execution!)."""
    return eval(expression)
