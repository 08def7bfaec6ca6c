"""Greetings, nothing else."""

__version__ = "1.0.0"


def greet(name: str) -> str:
    """Return a friendly greeting for name."""
    return f"Hello, {name.strip() or 'world'}!"
