"""waitboard-sensor simulate (being written)."""

from __future__ import annotations

import click


@click.command("simulate")
def command() -> None:
    """Not yet available."""
    raise click.ClickException("waitboard-sensor simulate is not available yet")
