"""Appointment reminders by e-mail, end to end: a real waitboard on the suite's Redis and a
real SMTP server (aiosmtpd) on a loopback port of this test's own, on a clock the test
sets. Reminders come 24 h and 2 h before (this office's configuration), in the booking's
language, never for a cancelled or moved-away booking nor to a phone number, again once
the mail server is back, and nothing of the address outlives the appointment's day."""

from __future__ import annotations

import email
import email.policy
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from redis.asyncio import Redis

from tests.appointments.support import (
    FORM,
    HTML,
    TUESDAY,
    Env,
    bare,
    contact_key,
    everything_in,
    local,
    slot,
)
from tests.helpers import (
    MONDAY_8,
    TIMEOUT,
    SettableClock,
    eventually,
    free_port,
    live_server,
    office_with_appointments,
)
from waitboard.core.clock import to_ms
from waitboard.i18n import Translator
from waitboard.services.reminders import RETRY_AFTER_S
from waitboard.settings import SmtpSettings
from waitboard.store import keys
from waitboard.store.embedded import EmbeddedRedis
from waitboard.store.jobs import Jobs

WEDNESDAY = date(2026, 12, 2)
ADDRESS = "anna.beispiel@example.org"
PUBLIC_URL = "https://termine.example.de"


@dataclass
class Inbox:
    """What the SMTP server received: (recipients, message), in order."""

    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def text(self, i: int) -> str:
        body = self.received[i][1].get_body(("plain",))
        assert body is not None
        return str(body.get_content())


@contextmanager
def smtp_server(port: int, inbox: Inbox) -> Iterator[Controller]:
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


@dataclass
class Mail:
    env: Env
    inbox: Inbox
    port: int
    jobs: Jobs

    async def pending(self) -> int:
        return await self.jobs.pending()

    async def due_at(self) -> list[int]:
        """When the scheduled jobs are due (ms), in order."""
        return [
            int(s)
            for _, s in await self.env.redis.zrange(keys.job_schedule(), 0, -1, withscores=True)
        ]


@asynccontextmanager
async def running(
    redis_server: EmbeddedRedis, redis: Redis, port: int
) -> AsyncIterator[tuple[Env, Jobs]]:
    """waitboard with reminders 24 h and 2 h ahead, mailing through 127.0.0.1:``port``."""
    clock = SettableClock(MONDAY_8)
    office = office_with_appointments().model_copy(update={"reminders": ["24h", "2h"]})
    smtp = SmtpSettings(
        host="127.0.0.1",
        port=port,
        security="plain",
        mail_from="Jobcenter Test <termine@jobcenter.example>",
    )
    async with (
        live_server(redis_server.url, office, clock=clock, smtp=smtp, public_url=PUBLIC_URL) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
    ):
        yield Env(http, clock, redis, srv.url), Jobs(redis)


@pytest.fixture
async def mail(redis_server: EmbeddedRedis, redis: Redis) -> AsyncIterator[Mail]:
    """waitboard with reminders 24 h and 2 h ahead, and an SMTP server that is up."""
    inbox, port = Inbox(), free_port()
    with smtp_server(port, inbox):
        async with running(redis_server, redis, port) as (env, jobs):
            yield Mail(env, inbox, port, jobs)


async def book_in(env: Env, start: str, contact: str | None, lang: str) -> dict[str, Any]:
    body: dict[str, Any] = {"queue": "T", "start": start, "lang": lang}
    if contact is not None:
        body["contact"] = contact
    r = await env.http.post("/api/v1/locations/sued/appointments", json=body)
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def test_reminders_come_at_their_times_in_the_bookings_language(mail: Mail) -> None:
    """A Turkish booking for Tuesday 10:00 made on Monday 08:00 is due for reminders on
    Monday 10:00 and Tuesday 08:00; each arrives once its time has come, in Turkish, with
    the code, the date as Turkish readers write it, the page's address and the headers of
    an automatic mail."""
    booking = await book_in(mail.env, slot("10:00", TUESDAY), ADDRESS, "tr")
    assert await mail.due_at() == [to_ms(local("10:00")), to_ms(local("08:00", TUESDAY))]
    mail.env.at("10:00")
    await eventually(lambda: mail.inbox.count == 1, "the 24-hour reminder")
    mail.env.at("08:00", TUESDAY)
    await eventually(lambda: mail.inbox.count == 2, "the 2-hour reminder")
    await eventually(lambda: _none_pending(mail), "both jobs done")
    t = Translator("tr")
    for i in range(2):
        rcpt, msg = mail.inbox.received[i]
        text = mail.inbox.text(i)
        assert rcpt == [ADDRESS] and msg["To"] == ADDRESS
        assert msg["Subject"] == t(
            "Erinnerung an Ihren Termin am {date} um {time} Uhr", date=t.day(TUESDAY), time="10:00"
        )
        assert t("wir erinnern Sie an Ihren Termin:") in text
        assert "Salı" in text and t.day(TUESDAY) in text and "10:00" in text
        assert booking["code"] in text
        assert f"{PUBLIC_URL}/appointments/{booking['code']}" in text
        assert msg["Content-Language"] == "tr"
        assert msg["Auto-Submitted"] == "auto-generated"
        assert msg["Message-ID"].endswith("@jobcenter.example>") and msg["Date"]
        assert msg.get_body(("html",)) is not None
    assert mail.inbox.received[0][1]["Message-ID"] != mail.inbox.received[1][1]["Message-ID"]


async def _none_pending(mail: Mail) -> bool:
    return await mail.pending() == 0


async def test_a_german_reminder_writes_the_date_as_germans_do(mail: Mail) -> None:
    """Booked in German: "Dienstag 01.12.2026, 10:00 Uhr", the German texts."""
    await book_in(mail.env, slot("10:00", TUESDAY), ADDRESS, "de")
    mail.env.at("10:00")
    await eventually(lambda: mail.inbox.count == 1, "the reminder")
    text = mail.inbox.text(0)
    assert "Dienstag 01.12.2026, 10:00 Uhr" in text, text
    assert "Ihr Buchungscode:" in text and "Guten Tag," in text
    assert mail.inbox.received[0][1]["Content-Language"] == "de"


async def test_a_cancelled_booking_is_not_reminded(mail: Mail) -> None:
    """Cancelled after booking: when the reminders fall due they send nothing."""
    booking = await book_in(mail.env, slot("10:00", TUESDAY), ADDRESS, "de")
    r = await mail.env.http.post(f"/api/v1/appointments/{booking['code']}/cancel")
    assert r.status_code == 200, r.text
    mail.env.at("09:00", TUESDAY)
    await eventually(lambda: _none_pending(mail), "both jobs done")
    assert mail.inbox.count == 0


async def test_a_moved_booking_is_reminded_at_its_new_time_only(mail: Mail) -> None:
    """Moved from Tuesday to Wednesday 10:00: Tuesday's reminders send nothing when due,
    Wednesday's come at their times and name Wednesday."""
    booking = await book_in(mail.env, slot("10:00", TUESDAY), ADDRESS, "de")
    r = await mail.env.http.post(
        f"/api/v1/appointments/{booking['code']}/move", json={"start": slot("10:00", WEDNESDAY)}
    )
    assert r.status_code == 200, r.text
    assert len(await mail.due_at()) == 4
    mail.env.at("08:00", TUESDAY)  # the old ones are due, the new 24-hour one not yet
    await eventually(lambda: _pending_is(mail, 2), "the old jobs done")
    assert mail.inbox.count == 0
    mail.env.at("10:00", TUESDAY)
    await eventually(lambda: mail.inbox.count == 1, "the new 24-hour reminder")
    mail.env.at("08:00", WEDNESDAY)
    await eventually(lambda: mail.inbox.count == 2, "the new 2-hour reminder")
    for i in range(2):
        assert "Mittwoch 02.12.2026, 10:00 Uhr" in mail.inbox.text(i)


async def _pending_is(mail: Mail, n: int) -> bool:
    return await mail.pending() == n


async def test_a_phone_number_gets_no_mail(mail: Mail) -> None:
    """A phone number as contact, or none: no reminder is scheduled at all."""
    await book_in(mail.env, slot("10:00", TUESDAY), "+49 151 2345678", "de")
    await book_in(mail.env, slot("10:20", TUESDAY), None, "de")
    assert await mail.pending() == 0


async def test_a_booking_for_today_and_a_passed_reminder_time_get_none(mail: Mail) -> None:
    """Booked on the day itself: no reminder. Booked at 09:00 for the next day 10:00: the
    24-hour reminder's time has passed (none), the 2-hour one comes."""
    await book_in(mail.env, slot("11:00"), ADDRESS, "de")
    assert await mail.pending() == 0
    mail.env.at("10:30")
    await book_in(mail.env, slot("10:00", TUESDAY), ADDRESS, "de")
    assert await mail.due_at() == [to_ms(local("08:00", TUESDAY))]


async def test_while_the_mail_server_is_down_a_reminder_waits_and_comes_later(
    redis_server: EmbeddedRedis, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """No SMTP server when the reminder falls due: it is tried again later, received once
    the server is up; the logs name neither the address nor the mail's text."""
    caplog.set_level(logging.DEBUG)
    inbox, port = Inbox(), free_port()
    async with running(redis_server, redis, port) as (env, jobs):
        booking = await book_in(env, slot("10:00", TUESDAY), ADDRESS, "de")
        env.at("10:00")
        due = to_ms(local("10:00"))

        async def put_off() -> bool:
            scores = [s for _, s in await redis.zrange(keys.job_schedule(), 0, 0, withscores=True)]
            return bool(scores) and scores[0] >= due + RETRY_AFTER_S * 1000

        await eventually(put_off, "the failed attempt put off")
        assert inbox.count == 0
        with smtp_server(port, inbox):
            env.clock.now += timedelta(seconds=RETRY_AFTER_S)
            await eventually(lambda: inbox.count == 1, "the reminder, once the server is up")

        async def one_left() -> bool:
            return await jobs.pending() == 1  # (the 2-hour one)

        await eventually(one_left, "the sent one done")
    ours = [r for r in caplog.records if r.name.startswith("waitboard")]
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in ours)
    assert "reminder sent" in logged and "reminder not handed over" in logged
    for secret in (ADDRESS, booking["code"], bare(booking["code"]), "Buchungscode"):
        assert secret not in logged, secret


async def test_the_address_is_kept_only_in_the_booking_until_its_day_ends(mail: Mail) -> None:
    """While reminders wait and after they went out, the address is in one key only - the
    booking's contact, which expires at the end of the appointment's day - and the code in
    none: the jobs keep neither."""
    booked_at = mail.env.clock.now
    booking = await book_in(mail.env, slot("10:00", TUESDAY), ADDRESS, "de")
    code = booking["code"]

    async def holders() -> list[bytes]:
        blobs = await everything_in(mail.env.redis)
        assert not [b for b in blobs if code.encode() in b or bare(code).encode() in b]
        return [b for b in blobs if ADDRESS.encode() in b]

    assert await holders() == [ADDRESS.encode()]
    mail.env.at("08:00", TUESDAY)
    await eventually(lambda: mail.inbox.count == 2, "both reminders")
    await eventually(lambda: _none_pending(mail), "both jobs done")
    assert await holders() == [ADDRESS.encode()]
    assert await mail.env.redis.get(contact_key(code)) == ADDRESS.encode()
    end_of_day = local("00:00", TUESDAY + timedelta(days=1))
    ttl_ms = await mail.env.redis.pttl(contact_key(code))
    assert 0 < ttl_ms <= to_ms(end_of_day) - to_ms(booked_at)  # (set then, in the clock's time)


class RefusingInbox(Inbox):
    """A mail server that has no such mailbox."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        return "550 5.1.1 no such mailbox"


async def test_an_address_the_server_refuses_is_given_up_at_once(
    redis_server: EmbeddedRedis, redis: Redis
) -> None:
    """A 5xx for the recipient: the reminder is given up, not tried again."""
    inbox, port = RefusingInbox(), free_port()
    with smtp_server(port, inbox):
        async with running(redis_server, redis, port) as (env, jobs):
            await book_in(env, slot("10:00", TUESDAY), ADDRESS, "de")
            env.at("09:00", TUESDAY)  # (both due)

            async def none_left() -> bool:
                return await jobs.pending() == 0

            await eventually(none_left, "both reminders given up")
    assert inbox.count == 0


REMINDER_HINT = "Mit einer E-Mail-Adresse bekommen Sie vor dem Termin eine Erinnerung."


async def test_the_booking_form_says_what_an_e_mail_address_is_for(mail: Mail) -> None:
    """With reminders on, the contact's hint says an e-mail address gets one."""
    r = await mail.env.http.get(FORM, params={"date": TUESDAY.isoformat()}, headers=HTML)
    assert r.status_code == 200 and REMINDER_HINT in r.text


async def test_without_reminders_the_form_promises_none(env: Env) -> None:
    """Without an SMTP server the hint stays as it was: no reminder is promised."""
    r = await env.http.get(FORM, params={"date": TUESDAY.isoformat()}, headers=HTML)
    assert r.status_code == 200 and "Nur damit wir Sie bei einer Absage erreichen." in r.text
    assert REMINDER_HINT not in r.text
