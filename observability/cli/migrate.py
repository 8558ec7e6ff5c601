"""``observability migrate``: import a legacy script-based ops/ tree into a workspace."""

from __future__ import annotations

import click


@click.command()
def migrate() -> None:
    """(stub)"""
