"""Reminders over TLS as the SMTP URL says: ``smtps://`` from the first byte,
``smtp+starttls://`` before anything else (with a login), and a server whose certificate
is not trusted gets nothing. The real aiosmtpd server presents a certificate from a test
CA that the client trusts through ``SSL_CERT_FILE`` (the system's trust store otherwise)."""

from __future__ import annotations

import ipaddress
import logging
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from redis.asyncio import Redis

from tests.appointments.support import TUESDAY, Env, slot
from tests.appointments.test_reminders import ADDRESS, Inbox
from tests.helpers import (
    MONDAY_8,
    TIMEOUT,
    SettableClock,
    eventually,
    free_port,
    live_server,
    office_with_appointments,
)
from waitboard.settings import SmtpSecurity, SmtpSettings
from waitboard.store import keys
from waitboard.store.embedded import EmbeddedRedis
from waitboard.store.jobs import Jobs


@contextmanager
def running(server: Controller) -> Iterator[Controller]:
    """A real SMTP server on loopback for as long as the block runs."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class Certificates:
    ca: Path  # what the client trusts
    chain: Path  # the server's certificate
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.chain, self.key)
        return context


def _name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A test CA and a certificate for 127.0.0.1 signed by it."""
    folder = tmp_path_factory.mktemp("tls")
    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("waitboard test CA"))
        .issuer_name(_name("waitboard test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    certs = Certificates(folder / "ca.pem", folder / "chain.pem", folder / "key.pem")
    certs.ca.write_bytes(ca.public_bytes(pem))
    certs.chain.write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    certs.key.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return certs


@dataclass
class Logins:
    seen: list[tuple[bytes, bytes]]

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            self.seen.append((data.login, data.password))
            return AuthResult(success=data.password == b"s3cret")
        return AuthResult(success=False)


@asynccontextmanager
async def reminding(
    redis_server: EmbeddedRedis, redis: Redis, port: int, security: SmtpSecurity, **login: str
) -> AsyncIterator[tuple[Env, Jobs]]:
    """waitboard reminding 24 h ahead through 127.0.0.1:``port`` as ``security`` says."""
    clock = SettableClock(MONDAY_8)
    office = office_with_appointments().model_copy(update={"reminders": ["24h"]})
    smtp = SmtpSettings("127.0.0.1", port, security, "termine@jobcenter.example", **login)
    async with (
        live_server(redis_server.url, office, clock=clock, smtp=smtp) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
    ):
        yield Env(http, clock, redis, srv.url), Jobs(redis)


async def remind(env: Env) -> None:
    """Book Tuesday 10:00 with an address and let Monday 10:00, its reminder's time, come."""
    r = await env.http.post(
        "/api/v1/locations/sued/appointments",
        json={"queue": "T", "start": slot("10:00", TUESDAY), "contact": ADDRESS},
    )
    assert r.status_code == 201, r.text
    env.at("10:00")


@pytest.fixture
def trusted(certificates: Certificates, monkeypatch: pytest.MonkeyPatch) -> None:
    """The client trusts the test CA (OpenSSL reads SSL_CERT_FILE for its defaults)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca))


async def test_smtps_sends_over_tls_from_the_start(
    redis_server: EmbeddedRedis, redis: Redis, certificates: Certificates, trusted: None
) -> None:
    """``smtps://``: the reminder arrives over a TLS connection to a trusted server."""
    inbox, port = Inbox(), free_port()
    server = Controller(
        inbox, hostname="127.0.0.1", port=port, ssl_context=certificates.server_context()
    )
    with running(server):
        async with reminding(redis_server, redis, port, "tls") as (env, _):
            await remind(env)
            await eventually(lambda: inbox.count == 1, "the reminder over TLS")
    assert inbox.received[0][0] == [ADDRESS]


async def test_starttls_comes_before_the_login_and_the_mail(
    redis_server: EmbeddedRedis, redis: Redis, certificates: Certificates, trusted: None
) -> None:
    """``smtp+starttls://`` with a user: STARTTLS first (the server takes nothing before
    it), then the login, then the reminder."""
    inbox, port, logins = Inbox(), free_port(), Logins([])
    server = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=certificates.server_context(),
        require_starttls=True,
        authenticator=logins,
        auth_required=True,
    )
    with running(server):
        async with reminding(
            redis_server, redis, port, "starttls", user="termine", password="s3cret"
        ) as (env, _):
            await remind(env)
            await eventually(lambda: inbox.count == 1, "the reminder after STARTTLS")
    assert logins.seen == [(b"termine", b"s3cret")]


async def test_a_server_whose_certificate_is_not_trusted_gets_nothing(
    redis_server: EmbeddedRedis,
    redis: Redis,
    certificates: Certificates,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """TLS that does not verify (the test CA is not trusted here): nothing is handed over,
    and the reminder is put off to be tried again."""
    caplog.set_level(logging.INFO, logger="waitboard")
    inbox, port = Inbox(), free_port()
    server = Controller(
        inbox, hostname="127.0.0.1", port=port, ssl_context=certificates.server_context()
    )
    with running(server):
        async with reminding(redis_server, redis, port, "tls") as (env, _):
            await remind(env)
            due = env.clock.now.timestamp() * 1000

            async def put_off() -> bool:
                scores = [
                    s for _, s in await redis.zrange(keys.job_schedule(), 0, 0, withscores=True)
                ]
                return bool(scores) and scores[0] > due + 60_000  # (past the lease)

            await eventually(put_off, "the failed attempt put off")
    assert inbox.count == 0
    why = [
        getattr(r, "why", "") for r in caplog.records if r.name == "waitboard.services.reminders"
    ]
    assert any("SSLCertVerificationError" in w for w in why), why
