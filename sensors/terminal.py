"""waitboard-sensor terminal (being written)."""

from __future__ import annotations

import click


@click.command("terminal")
def command() -> None:
    """Not yet available."""
    raise click.ClickException("waitboard-sensor terminal is not available yet")
