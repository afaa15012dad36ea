"""Deployment files: the compose file is valid and keeps Redis private and persistent."""

from __future__ import annotations

import subprocess

import yaml

from tests.helpers import ROOT, require_tool
from waitboard.settings import load_office


def compose_config() -> dict:
    tool = require_tool("docker-compose")
    out = subprocess.run(
        [tool, "-f", "docker-compose.yml", "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


def test_compose_file_is_valid_and_redis_is_private() -> None:
    """Redis: no published port, AOF on a named volume, a password; app: /readyz health."""
    config = compose_config()
    redis, app = config["services"]["redis"], config["services"]["app"]
    assert "ports" not in redis
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command and "--appendfsync always" in command
    assert "requirepass" in command
    assert any(str(v).startswith("redis-data:/data") for v in redis["volumes"])
    assert "redis-data" in config["volumes"]
    assert "/readyz" in " ".join(app["healthcheck"]["test"])
    assert app["environment"]["WAITBOARD_ENV"] == "production"
    assert app["depends_on"]["redis"]["condition"] == "service_healthy"


def test_example_configuration_is_valid() -> None:
    """The example office an operator starts from passes check-config."""
    office = load_office(ROOT / "deploy" / "waitboard.example.toml")
    assert office.locations[0].id == "sued"


def test_image_contains_what_the_service_needs() -> None:
    """The Dockerfile copies the package, the templates and the pinned constraints."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    for needed in ("COPY waitboard", "COPY kiosk_templates", "constraints.txt", "/readyz"):
        assert needed in dockerfile
