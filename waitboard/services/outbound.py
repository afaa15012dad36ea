"""Requests to addresses that strangers give (push endpoints, webhooks), made safely.

:func:`check` is the subscribe-time check: the URL by the rules of
:class:`~waitboard.core.outbound.OutboundPolicy`, then every address its host resolves to.
:func:`post` does the same again before it sends (the name may resolve elsewhere by now:
DNS rebinding) and then connects to the address it checked - the URL's host replaced by
that address, the name kept for the Host header and for TLS (SNI and the certificate
check, through httpcore's ``sni_hostname`` extension). It never follows a redirect, goes
through no proxy, has one deadline for everything (DNS, connect, TLS, sending, answer),
sends a bounded body and reads a bounded part of the answer.

Nothing here logs an endpoint, a key or a payload: httpx's client (which logs each URL at
INFO) is not used, only its transport, and httpcore's connection traces (DEBUG, with the
address) are kept quiet.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from typing import cast

import httpx

from waitboard.core.errors import PayloadTooLarge
from waitboard.core.outbound import (
    IPAddress,
    OutboundFailed,
    OutboundPolicy,
    OutboundTimeout,
    Target,
)

#: Resolves a host name (and port) to its addresses; tests pass their own, offline.
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

#: The largest request body: a Web Push message is at most 4096 bytes (RFC 8030).
MAX_BODY = 4096
#: How much of an answer is read (for a diagnosis); the rest is never received.
MAX_RESPONSE = 1024
TIMEOUT_S = 5.0

# Headers the request sets itself; a caller's are dropped.
_OWN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})

# httpcore traces each connection with its address at DEBUG: not even WAITBOARD_LOG_LEVEL=debug
# may show where a subscription's messages go.
logging.getLogger("httpcore").setLevel(logging.INFO)
logging.getLogger("httpx").setLevel(logging.WARNING)


@dataclass(frozen=True, slots=True)
class Answer:
    """What the receiving service answered: its status, its Retry-After (if any), and the
    first bytes of its body (at most ``max_response``)."""

    status: int
    retry_after: str | None
    body: bytes


async def resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses of ``host`` from the system's resolver (without blocking the loop)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise OutboundFailed("The receiving service's name could not be resolved.") from None
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0])
        if address not in found:
            found.append(address)
    return found


async def check(
    policy: OutboundPolicy, url: str, *, resolver: Resolver = resolve
) -> tuple[Target, IPAddress]:
    """The URL's target and the address to connect to, when the URL and every address its
    host resolves to pass the policy; else :class:`OutboundRefused` (or
    :class:`OutboundFailed` when the name does not resolve)."""
    target = policy.check_url(url)
    addresses = [target.literal] if target.literal else await resolver(target.host, target.port)
    policy.check_addresses(target, addresses)
    return target, addresses[0]


async def post(
    policy: OutboundPolicy,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    resolver: Resolver = resolve,
    timeout_s: float = TIMEOUT_S,
    max_body: int = MAX_BODY,
    max_response: int = MAX_RESPONSE,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Answer:
    """POST ``body`` to ``url`` when the policy allows it, to the address just checked.

    Raises :class:`OutboundRefused` (the URL or an address is not allowed; nothing was
    sent), :class:`OutboundTimeout` (no answer within ``timeout_s``, all told) or
    :class:`OutboundFailed` (no name, no connection, TLS failed). ``transport`` is for tests.
    """
    if len(body) > max_body:
        raise PayloadTooLarge(f"An outbound body has at most {max_body} bytes.")
    try:
        async with asyncio.timeout(timeout_s):
            target, address = await check(policy, url, resolver=resolver)
            return await _send(target, address, body, headers, timeout_s, max_response, transport)
    except TimeoutError:
        raise OutboundTimeout("The receiving service did not answer in time.") from None


async def _send(
    target: Target,
    address: IPAddress,
    body: bytes,
    headers: Mapping[str, str],
    timeout_s: float,
    max_response: int,
    transport: httpx.AsyncBaseTransport | None,
) -> Answer:
    extensions: dict[str, object] = {"timeout": httpx.Timeout(timeout_s).as_dict()}
    if target.literal is None:
        extensions["sni_hostname"] = target.host
    request = httpx.Request(
        "POST",
        target.url_at(address),
        headers=[
            ("Host", target.host_header),
            *((k, v) for k, v in headers.items() if k.lower() not in _OWN_HEADERS),
        ],
        content=body,
        extensions=extensions,
    )
    # A transport of its own per request: a pooled connection to this address made for
    # another name (SNI, certificate) is never reused; no proxy from the environment.
    own = transport is None
    sender = transport or httpx.AsyncHTTPTransport(retries=0, http1=True, http2=False)
    try:
        response = await sender.handle_async_request(request)
        try:
            return Answer(
                status=response.status_code,
                retry_after=response.headers.get("retry-after"),
                body=await _read_at_most(response, max_response),
            )
        finally:
            await response.aclose()
    except httpx.TimeoutException:
        raise OutboundTimeout("The receiving service did not answer in time.") from None
    except httpx.TransportError as e:
        raise OutboundFailed(
            f"The receiving service could not be reached ({type(e).__name__})."
        ) from None
    finally:
        if own:
            await sender.aclose()


async def _read_at_most(response: httpx.Response, limit: int) -> bytes:
    """The first ``limit`` bytes of the body as sent (no decompression): the rest is left
    unread, and the connection is closed with the response."""
    got = bytearray()
    chunks = cast(AsyncGenerator[bytes, None], response.aiter_raw())
    async with aclosing(chunks):
        async for chunk in chunks:
            got += chunk
            if len(got) >= limit:
                break
    return bytes(got[:limit])
