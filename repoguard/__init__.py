"""RepoGuard: a security-gated path from public package repositories into notebooks.

This module stays light: the IPython magic is loaded in kernels that may not have
jupyter_server, so server modules are imported only inside the functions that
need them.
"""

try:
    from ._version import __version__
except ImportError:  # pragma: no cover - only in a source tree that was never built
    import warnings

    warnings.warn(
        "Importing 'repoguard' outside a proper installation; run `pip install -e .`.",
        stacklevel=2,
    )
    __version__ = "dev"


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "repoguard"}]


def _jupyter_server_extension_points():
    from .app import RepoGuardApp

    return [{"module": "repoguard", "app": RepoGuardApp}]


def load_ipython_extension(ipython):
    """`%load_ext repoguard`: register the `%repoguard` line magic."""
    from .magics import RepoGuardMagics

    ipython.register_magics(RepoGuardMagics)
