"""Outbound requests to addresses strangers give: only public https addresses, checked before
any DNS, again after it, and again when sending (DNS rebinding); the connection goes to the
address checked; no redirect followed; one short deadline; bounded bodies; nothing of the
endpoint in the logs. The I/O tests talk to real servers on 127.0.0.1, with names resolved
by a resolver of the test's own (offline)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from waitboard.core.errors import PayloadTooLarge
from waitboard.core.outbound import (
    IPAddress,
    OutboundFailed,
    OutboundPolicy,
    OutboundRefused,
    OutboundTimeout,
    Target,
)
from waitboard.http_status import status_of
from waitboard.services import outbound
from waitboard.settings import Settings, SettingsError

STRICT = OutboundPolicy()
LOOPBACK = OutboundPolicy(allow_loopback=True)
WEBHOOK = OutboundPolicy(allow_private=True, label="webhook address")

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"
NOT_PUBLIC = [
    "10.0.0.1",
    "172.16.4.2",
    "172.31.255.254",
    "192.168.1.10",
    "127.0.0.1",
    "127.8.9.10",
    "::1",
    "169.254.169.254",
    "169.254.1.1",
    "fd00::1",
    "fd00:ec2::254",
    "fe80::1",
    "100.64.0.1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "0.0.0.0",
    "::",
    "224.0.0.1",
    "ff02::1",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.1",
    "2001:db8::1",
]


def ip(text: str) -> IPAddress:
    return ipaddress.ip_address(text)


def refused(policy: OutboundPolicy, url: str) -> OutboundRefused:
    with pytest.raises(OutboundRefused) as info:
        policy.check_url(url)
    return info.value


# The policy, without I/O ---------------------------------------------------------------------


def test_a_public_https_url_is_accepted_in_its_parts() -> None:
    target = STRICT.check_url("https://Push.Example.com:8443/wpush/v2/abc?x=1#frag")
    assert (target.scheme, target.host, target.port) == ("https", "push.example.com", 8443)
    assert target.path == "/wpush/v2/abc?x=1"
    assert target.host_header == "push.example.com:8443"
    assert target.url_at(ip(PUBLIC_V6)) == f"https://[{PUBLIC_V6}]:8443/wpush/v2/abc?x=1"
    assert STRICT.check_url(f"https://{PUBLIC_V4}/").literal == ip(PUBLIC_V4)
    assert STRICT.check_url(f"https://[{PUBLIC_V6}]/x").literal == ip(PUBLIC_V6)


@pytest.mark.parametrize(
    "url",
    [
        "http://push.example.com/x",
        "ftp://push.example.com/x",
        "push.example.com/x",
        "https://user:secret@push.example.com/x",
        "https://user@push.example.com/x",
        "https:///x",
        "https://:443/x",
        "https://push.example.com:0/x",
        "https://push.example.com:70000/x",
        "https://push.example.com/" + "a" * 2048,
        "https://push.example.com/a b",
        "https://push.exämple.com/x",
        "https://push.example.com\\@evil.example/x",
        "https://localhost/x",
        "https://LOCALHOST./x",
        "https://api.localhost/x",
        "https://[::1]/x",
        "https://2130706433/x",
        "https://0x7f000001/x",
        "https://127.1/x",
        "https://[fe80::1%25eth0]/x",
        "https://under_score.example/x",
    ],
)
def test_urls_that_are_not_plain_public_https_are_refused_before_any_dns(url: str) -> None:
    error = refused(STRICT, url)
    assert error.detail.startswith("The push endpoint must be a public https address")
    assert "example" not in error.detail  # the address itself is never repeated


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_every_non_public_address_is_refused(address: str) -> None:
    """As the URL's host, and as what a name resolves to."""
    host = f"[{address}]" if ":" in address else address
    refused(STRICT, f"https://{host}/x")
    target = STRICT.check_url("https://push.example.com/x")
    with pytest.raises(OutboundRefused):
        STRICT.check_addresses(target, [ip(address)])


@pytest.mark.parametrize("address", [PUBLIC_V4, PUBLIC_V6, "8.8.8.8", "2a00:1450:4001::1"])
def test_public_addresses_are_accepted(address: str) -> None:
    target = STRICT.check_url("https://push.example.com/x")
    STRICT.check_addresses(target, [ip(address)])


def test_a_name_is_refused_unless_every_address_it_resolves_to_is_public() -> None:
    target = STRICT.check_url("https://push.example.com/x")
    STRICT.check_addresses(target, [ip(PUBLIC_V4), ip(PUBLIC_V6)])
    for other in ("10.0.0.1", "127.0.0.1", "::1"):
        with pytest.raises(OutboundRefused):
            STRICT.check_addresses(target, [ip(PUBLIC_V4), ip(other)])
    with pytest.raises(OutboundRefused):
        STRICT.check_addresses(target, [])


def test_loopback_only_by_its_literal_address_and_only_when_allowed() -> None:
    for url in ("http://127.0.0.1:8123/push", "http://[::1]:8123/push"):
        refused(STRICT, url)
        target = LOOPBACK.check_url(url)
        assert target.scheme == "http"
        assert target.port == 8123
        LOOPBACK.check_addresses(target, [target.literal])  # type: ignore[list-item]
    # A name that resolves to the loopback stays refused; so do other plain-http hosts.
    target = LOOPBACK.check_url("https://push.example.com/x")
    with pytest.raises(OutboundRefused):
        LOOPBACK.check_addresses(target, [ip("127.0.0.1")])
    for url in ("http://localhost:8123/", "http://10.0.0.1:8123/", "http://127.0.0.2:8123/"):
        refused(LOOPBACK, url)


def test_webhooks_may_reach_private_addresses_but_never_this_machine_or_metadata() -> None:
    target = WEBHOOK.check_url("https://erp.office.example/hook")
    WEBHOOK.check_addresses(target, [ip("10.1.2.3"), ip("192.168.1.5"), ip("fd12::1")])
    for address in ("127.0.0.1", "::1", "169.254.169.254", "fd00:ec2::254", "fe80::1", "0.0.0.0"):
        with pytest.raises(OutboundRefused) as info:
            WEBHOOK.check_addresses(target, [ip(address)])
        assert info.value.detail.startswith("The webhook address must")
    refused(WEBHOOK, "http://erp.office.example/hook")


def test_refusals_answer_422_and_failures_503() -> None:
    assert status_of(OutboundRefused("it must use https")) == 422
    assert status_of(OutboundFailed("x")) == 503
    assert status_of(OutboundTimeout("x")) == 503
    assert OutboundRefused("it must use https").detail == (
        "The push endpoint must be a public https address (it must use https)."
    )


# Requests, against real servers on 127.0.0.1 --------------------------------------------------

Respond = Callable[[asyncio.StreamWriter], Awaitable[None]]


class Server:
    """An HTTP/1.1 server on 127.0.0.1 that counts connections and keeps each request."""

    def __init__(self, respond: Respond) -> None:
        self.respond = respond
        self.connections = 0
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.port = 0
        self.handlers: set[asyncio.Task[None]] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if (task := asyncio.current_task()) is not None:
            self.handlers.add(task)  # (ended with the server: see ``serving``)
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in head[1:] if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append((head[0], headers, body))
            await self.respond(writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def serving(respond: Respond) -> AsyncIterator[Server]:
    server = Server(respond)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()
        # A handler still writing (a service that never stops sending) ends with the
        # server, not when the test's event loop is torn down under it.
        for task in server.handlers:
            task.cancel()
        await asyncio.gather(*server.handlers, return_exceptions=True)
        await listener.wait_closed()


def answer(raw: bytes) -> Respond:
    async def respond(writer: asyncio.StreamWriter) -> None:
        writer.write(raw)
        await writer.drain()

    return respond


CREATED = answer(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nRetry-After: 30\r\n\r\nok")


def resolving(*answers: list[str]) -> tuple[outbound.Resolver, list[str]]:
    """A resolver that gives the answers in turn (the last one again), and its calls."""
    calls: list[str] = []

    async def resolve(host: str, port: int) -> list[IPAddress]:
        calls.append(host)
        return [ip(a) for a in answers[min(len(calls), len(answers)) - 1]]

    return resolve, calls


async def test_a_post_reaches_the_local_push_service_with_its_body_and_headers() -> None:
    async with serving(CREATED) as server:
        got = await outbound.post(
            LOOPBACK,
            f"http://127.0.0.1:{server.port}/push/abc?x=1",
            b"\x00encrypted\xff",
            {"TTL": "60", "Content-Encoding": "aes128gcm", "Host": "evil.example"},
        )
    assert (got.status, got.retry_after, got.body) == (201, "30", b"ok")
    (line, headers, body) = server.requests[0]
    assert line == "POST /push/abc?x=1 HTTP/1.1"
    assert body == b"\x00encrypted\xff"
    assert headers["host"] == f"127.0.0.1:{server.port}"  # the caller's Host is dropped
    assert headers["ttl"] == "60"


async def test_a_redirect_is_answered_not_followed() -> None:
    async with serving(CREATED) as target:
        location = f"http://127.0.0.1:{target.port}/elsewhere".encode()
        redirect = answer(
            b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\nContent-Length: 0\r\n\r\n"
        )
        async with serving(redirect) as server:
            got = await outbound.post(LOOPBACK, f"http://127.0.0.1:{server.port}/", b"x", {})
    assert got.status == 302
    assert server.connections == 1
    assert target.connections == 0


@pytest.mark.parametrize(
    ("url", "resolves_to"),
    [
        ("https://internal.example:{port}/", ["127.0.0.1"]),
        ("https://mixed.example:{port}/", [PUBLIC_V4, "127.0.0.1"]),
        ("http://internal.example:{port}/", ["127.0.0.1"]),
        ("http://localhost:{port}/", ["127.0.0.1"]),
        ("https://127.0.0.1:{port}/", ["127.0.0.1"]),  # loopback refused without the setting
    ],
)
async def test_a_refused_url_makes_no_connection_at_all(url: str, resolves_to: list[str]) -> None:
    resolver, _ = resolving(resolves_to)
    policy = STRICT if url.startswith("https://127.") else LOOPBACK
    async with serving(CREATED) as server:
        with pytest.raises(OutboundRefused):
            await outbound.post(policy, url.format(port=server.port), b"x", {}, resolver=resolver)
    assert server.connections == 0


async def test_dns_rebinding_after_the_subscription_is_refused_when_sending() -> None:
    """Public when subscribing, the loopback when sending: nothing is sent."""
    resolver, calls = resolving([PUBLIC_V4], ["127.0.0.1"])
    async with serving(CREATED) as server:
        url = f"https://push.example:{server.port}/push/abc"
        target, address = await outbound.check(LOOPBACK, url, resolver=resolver)
        assert (target.host, address) == ("push.example", ip(PUBLIC_V4))
        with pytest.raises(OutboundRefused):
            await outbound.post(LOOPBACK, url, b"x", {}, resolver=resolver)
    assert calls == ["push.example", "push.example"]
    assert server.connections == 0


async def test_the_connection_goes_to_the_address_checked_not_a_second_lookup() -> None:
    """One lookup per request; the request goes to that address, with the name in the Host
    header and as the TLS server name (SNI and the certificate's check)."""
    resolver, calls = resolving([PUBLIC_V6], ["127.0.0.1"])
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, stream=httpx.ByteStream(b"ok"))

    mock = httpx.MockTransport(handler)
    got = await outbound.post(
        STRICT, "https://push.example:8443/p/q", b"x", {}, resolver=resolver, transport=mock
    )
    assert got.status == 201
    assert calls == ["push.example"]
    (request,) = seen
    assert str(request.url) == f"https://[{PUBLIC_V6}]:8443/p/q"
    assert request.headers["host"] == "push.example:8443"
    assert request.extensions["sni_hostname"] == "push.example"
    with pytest.raises(OutboundRefused):  # the name now points at the loopback
        await outbound.post(STRICT, "https://push.example:8443/p/q", b"x", {}, resolver=resolver)
    assert len(seen) == 1


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for the name ``push.test`` and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=push.test",
            "-addext",
            "subjectAltName=DNS:push.test",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.mark.parametrize(("name", "ok"), [("push.test", True), ("other.test", False)])
async def test_tls_to_the_pinned_address_checks_the_certificate_for_the_name(
    tls_files: tuple[Path, Path], name: str, ok: bool
) -> None:
    """The sending half, given an address that passed: TLS to 127.0.0.1 with the name as
    the server name - the certificate must be the name's (not the address's)."""
    cert, key = tls_files
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    server_names: list[str | None] = []

    def note_server_name(_sock: ssl.SSLObject, sni: str | None, _ctx: ssl.SSLContext) -> None:
        server_names.append(sni)

    server_ctx.sni_callback = note_server_name
    client_ctx = ssl.create_default_context(cafile=str(cert))
    server = Server(CREATED)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=server_ctx)
    port = listener.sockets[0].getsockname()[1]
    target = Target("https", name, port, "/push/abc", None)
    try:
        async with httpx.AsyncHTTPTransport(verify=client_ctx, retries=0) as transport:
            send = outbound._send(target, ip("127.0.0.1"), b"x", {}, 5, 100, transport)
            if ok:
                assert (await send).status == 201
            else:
                with pytest.raises(OutboundFailed):
                    await send
    finally:
        listener.close()
        await listener.wait_closed()
    assert server_names == [name]
    if ok:
        assert server.requests[0][1]["host"] == f"push.test:{port}"
    else:
        assert server.requests == []


async def test_a_slow_service_times_out() -> None:
    release = asyncio.Event()

    async def stall(writer: asyncio.StreamWriter) -> None:
        await asyncio.wait_for(release.wait(), 10)

    async with serving(stall) as server:
        try:
            with pytest.raises(OutboundTimeout):
                await outbound.post(
                    LOOPBACK, f"http://127.0.0.1:{server.port}/", b"x", {}, timeout_s=0.2
                )
        finally:
            release.set()


async def test_a_slow_name_lookup_times_out_too() -> None:
    async def never(host: str, port: int) -> list[IPAddress]:
        await asyncio.sleep(10)
        return []

    with pytest.raises(OutboundTimeout):
        await outbound.post(
            STRICT, "https://push.example/", b"x", {}, resolver=never, timeout_s=0.2
        )


async def test_an_answer_is_read_only_up_to_its_bound() -> None:
    """A service that never stops sending: the request still ends, with the first bytes."""

    async def endless(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 1000000000\r\n\r\n")
        for _ in range(100_000):
            writer.write(b"x" * 65536)
            await writer.drain()

    async with serving(endless) as server:
        got = await outbound.post(
            LOOPBACK, f"http://127.0.0.1:{server.port}/", b"x", {}, max_response=100
        )
    assert got.status == 400
    assert got.body == b"x" * 100


async def test_a_body_over_its_bound_is_not_sent() -> None:
    async with serving(CREATED) as server:
        with pytest.raises(PayloadTooLarge):
            await outbound.post(LOOPBACK, f"http://127.0.0.1:{server.port}/", b"x" * 4097, {})
    assert server.connections == 0


async def test_an_unreachable_service_fails_as_unavailable() -> None:
    async with serving(CREATED) as server:
        port = server.port
    with pytest.raises(OutboundFailed) as info:
        await outbound.post(LOOPBACK, f"http://127.0.0.1:{port}/", b"x", {})
    assert not isinstance(info.value, OutboundTimeout)
    assert str(port) not in info.value.detail


async def test_the_system_resolver_answers_addresses() -> None:
    assert ip("127.0.0.1") in await outbound.resolve("127.0.0.1", 443)
    with pytest.raises(OutboundFailed):
        await outbound.resolve("no-such-host.invalid", 443)


async def test_endpoints_keys_and_payloads_never_reach_the_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = ["SECRETPATH", "SECRETKEY", "SECRETBODY", "secret-host"]
    headers = {"Authorization": "vapid t=SECRETKEY, k=SECRETKEY"}
    async with serving(CREATED) as server:
        url = f"http://127.0.0.1:{server.port}/push/SECRETPATH"
        await outbound.post(LOOPBACK, url, b"SECRETBODY", headers)
        resolver, _ = resolving(["10.0.0.1"])
        with pytest.raises(OutboundRefused) as info:
            await outbound.post(
                STRICT,
                "https://secret-host.example/SECRETPATH",
                b"SECRETBODY",
                headers,
                resolver=resolver,
            )
    assert not any(s in info.value.detail for s in secrets)
    assert not any(s in caplog.text for s in [*secrets, str(server.port)]), caplog.text


# The setting -----------------------------------------------------------------------------------

PRODUCTION = {
    "WAITBOARD_ENV": "production",
    "WAITBOARD_SECRET_KEY": "k" * 43,
    "WAITBOARD_VAPID_PRIVATE_KEY_FILE": "/run/secrets/vapid_private_key",
}


def test_push_allow_loopback_is_off_unless_set() -> None:
    assert Settings.from_env({}).push_allow_loopback is False
    on = Settings.from_env({"WAITBOARD_PUSH_ALLOW_LOOPBACK": "1"})
    assert on.push_allow_loopback is True
    assert Settings.from_env(on.as_environ()).push_allow_loopback is True
    assert Settings.from_env({"WAITBOARD_PUSH_ALLOW_LOOPBACK": "0"}).push_allow_loopback is False
    assert Settings.from_env(PRODUCTION).push_allow_loopback is False
    with pytest.raises(SettingsError, match="WAITBOARD_PUSH_ALLOW_LOOPBACK"):
        Settings.from_env({"WAITBOARD_PUSH_ALLOW_LOOPBACK": "maybe"})


def test_production_refuses_push_allow_loopback_naming_it() -> None:
    with pytest.raises(SettingsError, match="WAITBOARD_PUSH_ALLOW_LOOPBACK") as info:
        Settings.from_env({**PRODUCTION, "WAITBOARD_PUSH_ALLOW_LOOPBACK": "1"})
    assert "production" in str(info.value)
