"""waitboard-sensor occupancy (being written)."""

from __future__ import annotations

import click


@click.command("occupancy")
def command() -> None:
    """Not yet available."""
    raise click.ClickException("waitboard-sensor occupancy is not available yet")
