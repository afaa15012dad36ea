"""Appointment reminders by e-mail: scheduled when a booking with an e-mail address is made
or moved, sent by whichever server process claims the job (:mod:`waitboard.services.jobs`).

The rules (when, which id, what a job keeps) are :mod:`waitboard.core.reminders`. At send
time the booking decides: cancelled, checked in, moved to another time, its contact gone
(the end of its day, a cancellation) or not an e-mail address - nothing is sent. The mail
speaks the booking's language. What is logged is "reminder sent" or "reminder failed" with
the location and a count; never the address, the code or the mail's text.
"""

from __future__ import annotations

import logging
from datetime import datetime
from email.message import EmailMessage

from waitboard.core import appointments, reminders
from waitboard.core.clock import Clock, from_ms, to_ms
from waitboard.core.errors import BookingNotFound
from waitboard.core.languages import CITIZEN_LANGUAGES, DEFAULT
from waitboard.core.office import Location, Office, Queue
from waitboard.core.state import Booking
from waitboard.i18n import Translator
from waitboard.services import smtp
from waitboard.services.jobs import Gone, Outcome
from waitboard.services.reminder_mail import Reminder, message
from waitboard.settings import Settings, SmtpSettings
from waitboard.store.jobs import Job, Jobs
from waitboard.store.office_store import Store

log = logging.getLogger(__name__)

#: After a failed hand-over, at least this long before the next try (a mail server is
#: down for minutes rather than seconds): the runner's attempts then span about an hour.
RETRY_AFTER_S = 300


class Reminders:
    """Schedules and sends the reminders of one office's bookings."""

    def __init__(
        self,
        jobs: Jobs,
        store: Store,
        office: Office,
        server: SmtpSettings,
        *,
        secret_key: str,
        public_url: str | None,
        clock: Clock,
    ) -> None:
        self.jobs, self.store, self.office, self.server = jobs, store, office, server
        self.secret_key, self.public_url, self.clock = secret_key, public_url, clock

    @classmethod
    def of(
        cls, settings: Settings, jobs: Jobs, store: Store, office: Office, clock: Clock
    ) -> Reminders | None:
        """The office's reminders, or None (said once) when no SMTP server is configured."""
        if settings.smtp is None:
            log.info("appointment reminders are off: WAITBOARD_SMTP_URL is not set")
            return None
        if not office.reminders:
            log.info("appointment reminders are off: the office configures none")
            return None
        if settings.public_url is None:
            log.warning("appointment reminders carry no link: WAITBOARD_PUBLIC_URL is not set")
        return cls(
            jobs,
            store,
            office,
            settings.smtp,
            secret_key=settings.secret_key,
            public_url=settings.public_url,
            clock=clock,
        )

    # --- scheduling ----------------------------------------------------------------------------

    async def schedule(
        self, loc: Location, code: str, booking: Booking, contact: str | None
    ) -> None:
        """The reminders of a booking just made or moved, when its contact is an e-mail
        address. A failure is logged, never raised: the booking stands without them."""
        if booking.status != "booked" or not reminders.is_email(contact):
            return
        tz = self.office.tz
        start = from_ms(booking.slot_ms, tz)
        code_hash = appointments.code_hash(code)
        try:
            for due in reminders.due_reminders(
                start, self.office.reminder_befores, self.clock(), tz
            ):
                body = {
                    "location": loc.id,
                    "booking": code_hash,
                    "slot": booking.slot_ms,
                    "code": reminders.seal_code(self.secret_key, code, code_hash),
                }
                job_id = reminders.job_id(loc.id, code_hash, booking.slot_ms, due)
                await self.jobs.add(job_id, reminders.KIND, body, to_ms(due.at))
        except Exception:
            log.exception("reminder not scheduled", extra={"location": loc.id})

    async def schedule_moved(self, loc: Location, code: str, booking: Booking) -> None:
        """:meth:`schedule` after a move, with the contact the booking keeps."""
        try:
            contact = await self.store.booking_contact(loc.id, appointments.code_hash(code))
        except Exception:
            log.exception("reminder not scheduled", extra={"location": loc.id})
            return
        await self.schedule(loc, code, booking, contact)

    # --- sending -------------------------------------------------------------------------------

    async def send(self, job: Job) -> Outcome:
        """The sender of kind ``reminder`` (for :class:`~waitboard.services.jobs.JobRunner`)."""
        loc = self.office.location_by_id.get(str(job.body.get("location")))
        if loc is None:
            return Gone("the location is no longer configured")
        prepared = await self._prepare(job, loc)
        if isinstance(prepared, Gone):
            return prepared
        mail, to = prepared
        return await smtp.send_job(
            self.server,
            mail,
            to,
            what="reminder",
            log=log,
            retry_after_s=RETRY_AFTER_S,
            attempt=job.attempt,
            context={"location": loc.id},
        )

    async def _prepare(self, job: Job, loc: Location) -> tuple[EmailMessage, str] | Gone:
        """The mail and its address, as the booking stands now; or why there is none."""
        code_hash = str(job.body.get("booking"))
        try:
            booking, _ = await self.store.booking(loc.id, code_hash)
        except BookingNotFound:
            return Gone("the booking is gone")
        queue = loc.queue_by_id.get(booking.queue)
        now = self.clock()
        why_not = _why_not(booking, job.body.get("slot"), queue, now)
        if why_not or queue is None:
            return Gone(why_not or "the concern is no longer offered")
        code = reminders.open_code(self.secret_key, str(job.body.get("code")), code_hash)
        if code is None:
            return Gone("the code was sealed with another WAITBOARD_SECRET_KEY")
        contact = await self.store.booking_contact(loc.id, code_hash)
        if contact is None or not reminders.is_email(contact):
            return Gone("no e-mail address (any more)")
        shown = appointments.format_code(code)
        reminder = Reminder(
            office=self.office,
            location=loc,
            queue=queue,
            start=from_ms(booking.slot_ms, self.office.tz),
            code=shown,
            url=f"{self.public_url}/appointments/{shown}" if self.public_url else None,
        )
        lang = booking.lang if booking.lang in CITIZEN_LANGUAGES else DEFAULT
        to = contact.strip()
        mail = message(
            reminder,
            Translator(str(lang)),
            to=to,
            mail_from=self.server.mail_from,
            sent_at=now,
            job_id=job.id,
        )
        return mail, to


def _why_not(booking: Booking, slot_ms: object, queue: Queue | None, now: datetime) -> str | None:
    """Why a due reminder is not to be sent, or None."""
    if booking.status != "booked":
        return f"the booking is {booking.status}"
    if booking.slot_ms != slot_ms:
        return "the booking was moved (its new time has reminders of its own)"
    if queue is None or queue.appointments is None:
        return "the concern is no longer offered"
    if to_ms(now) >= booking.slot_ms:
        return "the appointment has begun"
    return None
