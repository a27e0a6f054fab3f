"""The `idp` command: serve, users, clients, keys."""

from idp.cli.main import main

__all__ = ["main"]
