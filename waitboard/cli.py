"""The ``waitboard`` command: serve, check-config, token."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
import uvicorn

from waitboard import logs
from waitboard.core.errors import ConfigError
from waitboard.core.office import Office
from waitboard.live.wire import PROTOCOL
from waitboard.services.auth import new_token, token_hash
from waitboard.settings import Settings, SettingsError, load_office
from waitboard.store.embedded import EmbeddedRedis, EmbeddedRedisError

#: How uvicorn runs waitboard (the tests use the same). Clients send nothing but pongs,
#: so a small message limit keeps junk out; per-message compression costs memory and CPU
#: per connection for JSON that is sent once per change.
UVICORN_OPTIONS: dict[str, Any] = {
    "log_config": None,
    "access_log": False,
    "lifespan": "on",
    "server_header": False,
    "ws": PROTOCOL,  # uvicorn's sans-I/O WebSockets, plus frames encoded once for all
    "ws_max_size": 4096,
    "ws_per_message_deflate": False,
    "timeout_graceful_shutdown": 5,
    # WebSocket pings only find clients that vanished without closing (the screens have
    # the heartbeats for the other direction). At uvicorn's 20 s, 10,000 idle phones cost
    # 8% of a core in pings and pongs; at 60 s, 2-3%, and such a client is let go within
    # 80 s instead of 40 (benchmarks/RESULTS.md).
    "ws_ping_interval": 60.0,
}


def _fail(message: str) -> NoReturn:
    click.echo(f"waitboard: {message}", err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="waitboard")
def main() -> None:
    """Live waiting-zone display: tickets, lobby screens, public waiting times."""


@main.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="Office configuration (default: $WAITBOARD_CONFIG or ./waitboard.toml).",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--demo", is_flag=True, help="Serve the demo office shipped with waitboard.")
def serve(config_path: Path | None, host: str, port: int, workers: int, demo: bool) -> None:
    """Serve the HTTP API, the pages and the live WebSockets."""
    logs.configure()
    try:
        settings = Settings.from_env(demo=demo, config_path=config_path)
        logs.configure(settings.log_level.upper())
        office = load_office(settings.config_path)
        from waitboard.app import check_production

        check_production(settings, office)
    except SettingsError as e:
        _fail(str(e))
    except ConfigError as e:
        for line in e.errors:
            click.echo(line, err=True)
        sys.exit(1)

    # uvicorn shuts down gracefully on SIGTERM and then raises the signal again; turning it
    # into an ordinary exit lets the `finally` below stop the embedded Redis.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    embedded: EmbeddedRedis | None = None
    if not settings.redis_url:
        embedded = EmbeddedRedis(settings.data_dir)
        try:
            embedded.start()
        except EmbeddedRedisError as e:
            _fail(f"cannot start the embedded Redis: {e}")
        settings = settings.with_redis(embedded.url)
    simulator: subprocess.Popen[bytes] | None = None
    try:
        if demo:
            _print_demo_banner(office, host, port)
            simulator = _start_demo_simulation(host, port)
        os.environ.update(settings.as_environ())
        uvicorn.run(
            "waitboard.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            forwarded_allow_ips=settings.forwarded_allow_ips,
            **UVICORN_OPTIONS,
        )
    finally:
        if simulator is not None:
            simulator.terminate()
            simulator.wait(10)
        if embedded is not None:
            embedded.stop()


@main.command()
@click.argument("destination", type=click.Path(path_type=Path, dir_okay=False))
def backup(destination: Path) -> None:
    """Snapshot the running embedded Redis (WAITBOARD_DATA_DIR) into a file."""
    from waitboard.store.backup import BackupError
    from waitboard.store.backup import backup as run_backup

    try:
        keys = run_backup(Settings.from_env().data_dir, destination)
    except BackupError as e:
        _fail(str(e))
    click.echo(f"{destination}: {keys} keys")


@main.command()
@click.argument("source", type=click.Path(path_type=Path, dir_okay=False, exists=True))
def restore(source: Path) -> None:
    """Make a backup the data of a stopped waitboard (WAITBOARD_DATA_DIR)."""
    from waitboard.store.backup import BackupError
    from waitboard.store.backup import restore as run_restore
    from waitboard.store.embedded import EmbeddedRedisError

    try:
        keys = run_restore(source, Settings.from_env().data_dir)
    except EmbeddedRedisError as e:
        _fail(f"stop waitboard first: {e}")
    except BackupError as e:
        _fail(str(e))
    click.echo(f"restored {keys} keys from {source}; start waitboard again")


@main.command("check-config")
@click.argument("path", type=click.Path(path_type=Path))
def check_config(path: Path) -> None:
    """Validate an office configuration; print every error, and warn of names missing in a
    language of the citizen pages."""
    try:
        office = load_office(path)
    except ConfigError as e:
        for line in e.errors:
            click.echo(line, err=True)
        sys.exit(1)
    for line in office.missing_names():
        click.echo(f"{path}: warning: {line}", err=True)
    queues = sum(len(loc.queues) for loc in office.locations)
    counters = sum(len(loc.counters) for loc in office.locations)
    click.echo(
        f"{path}: ok ({len(office.locations)} locations, {queues} queues, "
        f"{counters} counters, {len(office.devices)} devices)"
    )


@main.command()
@click.argument("device_id")
def token(device_id: str) -> None:
    """Create a token for a device: shown once; only its hash goes into the config."""
    value = new_token()
    click.echo(f"token for {device_id} (give it to the device; it is not stored anywhere):")
    click.echo(f"  {value}")
    click.echo("put this line into the device's [[devices]] entry:")
    click.echo(f'  token_sha256 = "{token_hash(value)}"')


def _start_demo_simulation(host: str, port: int) -> subprocess.Popen[bytes]:
    """The demo office comes alive: simulated people and advisors, through the API, in
    real time (every page says it is demo data)."""
    from waitboard.demo import demo_token

    server = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"  # noqa: S104
    env = {**os.environ, "WAITBOARD_DEVICE_TOKEN": demo_token("admin")}
    return subprocess.Popen(  # noqa: S603 - our own program, fixed arguments
        [sys.executable, "-m", "sensors.cli", "simulate", "--demo", "--server", server],
        env=env,
        stdin=subprocess.DEVNULL,
    )


def _print_demo_banner(office: Office, host: str, port: int) -> None:
    from waitboard.demo import demo_tokens

    base = f"http://{host}:{port}"
    first = office.locations[0]
    lines = [
        "",
        "waitboard demo office - " + ", ".join(loc.name for loc in office.locations),
        f"  public overview   {base}/",
        f"  location page     {base}/locations/{first.id}",
        f"  lobby screen      {base}/screens/{first.id}",
        f"  API description   {base}/api/v1/openapi.json",
        "  demo device tokens (Authorization: Bearer <token>):",
    ]
    lines += [f"    {device:<22} {value}" for device, value in demo_tokens().items()]
    lines += [
        "  try:",
        f"    curl -X POST -H 'Authorization: Bearer demo-reception-{first.id}' "
        f"-H 'Content-Type: application/json' -d '{{\"queue\": \"A\"}}' "
        f"{base}/api/v1/locations/{first.id}/tickets",
        "",
    ]
    click.echo("\n".join(lines))
