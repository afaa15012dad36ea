"""The ``waitboard-sensor`` command: one subcommand per device program."""

from __future__ import annotations

import click

from sensors import occupancy, simulate, terminal


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="waitboard")
def main() -> None:
    """Device programs for waitboard (they speak only its HTTP API)."""


main.add_command(terminal.command)
main.add_command(occupancy.command)
main.add_command(simulate.command)


if __name__ == "__main__":
    main()
