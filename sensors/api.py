"""Talking to waitboard's HTTP API from a device: a client with the device's token, and
what an answer to an issue request means for the press that sent it."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import httpx

from sensors.spool import Press, Refusal

log = logging.getLogger(__name__)

TOKEN_ENV = "WAITBOARD_DEVICE_TOKEN"  # noqa: S105 - the variable's name, no secret


def read_token(token_file: Path | None) -> str:
    """The device token from a file or the environment - never from the command line,
    where every user of the machine could read it in the process list."""
    if token_file is not None:
        if token_file.stat().st_mode & 0o077:
            log.warning("token file is readable by other users", extra={"path": str(token_file)})
        token = token_file.read_text("utf-8").strip()
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise click.UsageError(f"no device token: give --token-file PATH or set {TOKEN_ENV}")
    return token


#: The 409s that are a decision about the queue; any other 409 is a request in a race.
_DEFINITIVE_409 = frozenset({"queue_closed", "ticket_stop"})


@dataclass(frozen=True)
class Issued:
    ticket: dict[str, Any]


@dataclass(frozen=True)
class Refused:
    refusal: Refusal


@dataclass(frozen=True)
class Unanswered:
    """The request may or may not have reached the server: send it again, same key."""

    reason: str
    retry_after_s: float = 0.0


Answer = Issued | Refused | Unanswered


def classify(response: httpx.Response) -> Answer:
    """What an answer to POST .../tickets means for the press: done, refused, or unknown."""
    status = response.status_code
    body = _json(response)
    code = str(body.get("code", "")) if body else ""
    if status == 201 and body and "number" in body and "url" in body:
        return Issued(body)
    if status >= 500 or status in (408, 429) or (status == 409 and code not in _DEFINITIVE_409):
        retry_after = response.headers.get("retry-after", "")
        return Unanswered(f"HTTP {status}", float(retry_after) if retry_after.isdecimal() else 0.0)
    if 400 <= status < 500:
        return Refused(
            Refusal(
                status,
                code or f"http_{status}",
                str(body.get("detail", "")) if body else response.text[:200],
            )
        )
    # 2xx/3xx without a ticket: something between us and the server answered instead.
    return Unanswered(f"HTTP {status} without a ticket")


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


class Api:
    """The two calls the terminal makes. The token is sent, never logged."""

    def __init__(self, server: str, token: str, timeout: float = 10.0) -> None:
        self._http = httpx.AsyncClient(
            base_url=server,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def names(self, location: str) -> dict[str, Any] | None:
        """The names of the location and its queues in every citizen language, or ``None``
        while the server cannot say."""
        try:
            response = await self._http.get(f"/api/v1/locations/{location}/names")
        except httpx.HTTPError as e:
            log.info("names unavailable", extra={"reason": type(e).__name__})
            return None
        data = _json(response)
        if response.status_code != 200 or data is None or "queues" not in data:
            log.warning("names refused", extra={"status": response.status_code})
            return None
        return data

    async def issue(self, press: Press) -> Answer:
        """Send one press; the same press always goes with the same Idempotency-Key."""
        try:
            response = await self._http.post(
                f"/api/v1/locations/{press.location}/tickets",
                json={"queue": press.queue},
                headers={"Idempotency-Key": press.key},
            )
        except httpx.HTTPError as e:  # connection refused, timeout, answer lost on the way
            return Unanswered(type(e).__name__)
        return classify(response)
