"""Hands a mail to the office's SMTP server (``WAITBOARD_SMTP_URL``), with the standard
library in a worker thread, TLS as the URL says, and a deadline on every step.

The answer is one of three: taken, refused for good (the server refused the recipient or
the message with a 5xx), or failed for now (no connection, a timeout, a 4xx, TLS that did
not come up): the caller tries again later. Nothing here logs, and the errors it raises
carry no address and no text of the mail (smtplib's own would: a refused recipient's
exception holds the address).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from email.utils import parseaddr

from waitboard.services.jobs import Gone, Later, Outcome, Sent
from waitboard.settings import SmtpSettings

#: Every step of the conversation (connect, TLS, each command) has this long.
STEP_TIMEOUT_S = 15.0
#: And the whole of it this long (the job's lease is longer); the thread may still finish
#: after it, and a mail it hands over then may come twice (same Message-ID).
TOTAL_TIMEOUT_S = 45.0


class MailRefused(Exception):
    """The server refused the recipient or the message for good (5xx): do not retry."""


class MailFailed(Exception):
    """Not handed over this time (no connection, timeout, 4xx, TLS): try again later."""


def _connect(server: SmtpSettings) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if server.security == "tls":
        return smtplib.SMTP_SSL(server.host, server.port, timeout=STEP_TIMEOUT_S, context=context)
    client = smtplib.SMTP(server.host, server.port, timeout=STEP_TIMEOUT_S)
    if server.security == "starttls":
        try:
            client.starttls(context=context)
        except BaseException:
            client.close()
            raise
    return client


def _send_now(server: SmtpSettings, message: EmailMessage, to: str) -> None:
    sender = parseaddr(server.mail_from)[1]
    client = _connect(server)
    try:
        if server.user:
            client.login(server.user, server.password or "")
        client.send_message(message, from_addr=sender, to_addrs=[to])
    except BaseException:
        client.close()
        raise
    # Taken: whatever the goodbye brings (a timeout, a reset), the mail is not sent again.
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


#: Mail is handed over in threads of its own, a few at a time: a slow server must not
#: take the threads that name lookups (push, webhooks) and PIN checks need.
_MAIL_THREADS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="smtp")


def _permanent(code: int) -> bool:
    return 500 <= code < 600


async def send(server: SmtpSettings, message: EmailMessage, to: str) -> None:
    """Hand ``message`` to the server for ``to``; raises :class:`MailRefused` or
    :class:`MailFailed` (without the address) when it was not taken."""
    try:
        async with asyncio.timeout(TOTAL_TIMEOUT_S):
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(_MAIL_THREADS, _send_now, server, message, to)
    except smtplib.SMTPRecipientsRefused as e:
        codes = [code for code, _ in e.recipients.values()]
        if codes and all(_permanent(c) for c in codes):
            raise MailRefused("the server refused the recipient") from None
        raise MailFailed("the server did not take the recipient now") from None
    except smtplib.SMTPAuthenticationError:
        raise MailFailed("the server refused WAITBOARD_SMTP_USER/_PASSWORD") from None
    except smtplib.SMTPNotSupportedError as e:
        if "SMTPUTF8" in str(e):  # (an address beyond ASCII, a server that takes none)
            raise MailRefused("the server takes no address beyond ASCII") from None
        raise MailFailed("the server does not offer what the URL asks (STARTTLS, AUTH)") from None
    except smtplib.SMTPSenderRefused as e:
        # The sender (WAITBOARD_MAIL_FROM) is the office's to fix, not the recipient's.
        raise MailFailed(f"the server refused WAITBOARD_MAIL_FROM ({e.smtp_code})") from None
    except smtplib.SMTPDataError as e:
        if _permanent(e.smtp_code):
            raise MailRefused(f"the server refused the message ({e.smtp_code})") from None
        raise MailFailed(f"the server did not take the message now ({e.smtp_code})") from None
    except smtplib.SMTPResponseException as e:
        raise MailFailed(f"the server answered {e.smtp_code}") from None
    except (TimeoutError, OSError, smtplib.SMTPException) as e:
        # (ssl.SSLError and ConnectionRefusedError are OSErrors.)
        raise MailFailed(f"no mail server to hand it to ({type(e).__name__})") from None


async def send_job(
    server: SmtpSettings,
    message: EmailMessage,
    to: str,
    *,
    what: str,
    log: logging.Logger,
    retry_after_s: int,
    attempt: int,
    context: dict[str, object],
) -> Outcome:
    """:func:`send` as a job's outcome, logged as ``what`` with ``context`` (never the
    address) by the caller's ``log``: taken - sent; refused for good - gone; not taken
    now - later, after ``retry_after_s``."""
    try:
        await send(server, message, to)
    except MailRefused as e:
        log.warning(f"{what} refused", extra={**context, "why": str(e)})
        return Gone(str(e))
    except MailFailed as e:
        log.warning(
            f"{what} not handed over; trying again later",
            extra={**context, "why": str(e), "attempt": attempt},
        )
        return Later(str(retry_after_s))
    log.info(f"{what} sent", extra=context)
    return Sent()
