"""Typed settings: the only place that reads the environment.

``WAITBOARD_*`` variables as in CONTRACT.md. Command-line flags override them; the result
is a frozen :class:`Settings` that ``create_app`` receives.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from email.utils import parseaddr
from importlib import resources
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from waitboard.core.errors import ConfigError
from waitboard.core.office import Office, parse_office

Environment = Literal["development", "production"]
LOG_LEVELS = ("debug", "info", "warning", "error")

DEMO_CONFIG = Path(str(resources.files("waitboard") / "demo" / "office.toml"))


class SettingsError(Exception):
    """A setting is missing or wrong; the message says which and how to fix it."""


def _value_or_file(env: Mapping[str, str], name: str) -> str | None:
    """``NAME``, or the content of the file named by ``NAME_FILE`` (Docker/systemd secrets)."""
    path = env.get(name + "_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip() or None
        except OSError as e:
            raise SettingsError(f"{name}_FILE={path}: cannot read it ({e.strerror})") from e
    return env.get(name) or None


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise SettingsError(f"{name}={raw!r}: give a whole number (0 or more)")
    return int(raw)


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name}={raw!r}: use 1 (on) or 0 (off)")


#: How an SMTP URL's scheme says to talk to the server, and its port when the URL has none.
SMTP_SCHEMES = {"smtp": ("plain", 25), "smtps": ("tls", 465), "smtp+starttls": ("starttls", 587)}
SmtpSecurity = Literal["plain", "tls", "starttls"]


@dataclass(frozen=True)
class SmtpSettings:
    """Where appointment reminders and service-level alerts are handed over (``WAITBOARD_SMTP_*``,
    ``WAITBOARD_MAIL_FROM``). ``plain`` is for a relay on the same host or network."""

    host: str
    port: int
    security: SmtpSecurity
    mail_from: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        scheme = next(k for k, (sec, _) in SMTP_SCHEMES.items() if sec == self.security)
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"


def _smtp(env: Mapping[str, str]) -> SmtpSettings | None:
    """The SMTP server from ``WAITBOARD_SMTP_URL`` and its companions; None when unset."""
    url = env.get("WAITBOARD_SMTP_URL", "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SMTP_SCHEMES:
        raise SettingsError(
            f"WAITBOARD_SMTP_URL: use smtp://host:25, smtps://host:465 or "
            f"smtp+starttls://host:587, not {scheme or 'no'} scheme"
        )
    try:
        port = parts.port
    except ValueError:
        raise SettingsError("WAITBOARD_SMTP_URL: its port is not a port number") from None
    if not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise SettingsError(
            "WAITBOARD_SMTP_URL: give scheme, host and port only, e.g. smtps://mail.example.de:465"
        )
    security, default_port = SMTP_SCHEMES[scheme]
    if parts.username or parts.password:
        raise SettingsError(
            "WAITBOARD_SMTP_URL: keep the user and password out of the URL; use "
            "WAITBOARD_SMTP_USER and WAITBOARD_SMTP_PASSWORD (or _FILE)"
        )
    user = env.get("WAITBOARD_SMTP_USER") or None
    password = _value_or_file(env, "WAITBOARD_SMTP_PASSWORD")
    if (user or password) and security == "plain":
        raise SettingsError(
            "WAITBOARD_SMTP_USER/_PASSWORD with smtp://: the password would cross the "
            "network in clear; use smtps:// or smtp+starttls://"
        )
    mail_from = (env.get("WAITBOARD_MAIL_FROM") or "").strip()
    if "@" not in parseaddr(mail_from)[1] or any(c in mail_from for c in "\r\n"):
        raise SettingsError(
            "WAITBOARD_MAIL_FROM is required with WAITBOARD_SMTP_URL: the reminders' sender, "
            'e.g. "Jobcenter Musterstadt <termine@jobcenter.example.de>"'
        )
    return SmtpSettings(
        host=parts.hostname,
        port=port or default_port,
        security=security,  # type: ignore[arg-type]  # one of SMTP_SCHEMES
        mail_from=mail_from,
        user=user,
        password=password,
    )


@dataclass(frozen=True)
class Settings:
    config_path: Path = Path("waitboard.toml")
    demo: bool = False
    redis_url: str | None = None
    data_dir: Path = Path("var")
    secret_key: str = ""
    env: Environment = "development"
    # Empty: only the service's own origin may open WebSockets.
    allowed_origins: tuple[str, ...] = field(default_factory=tuple)
    # Kept out of the URL so that it can come from a secret file.
    redis_password: str | None = None
    # The address citizens use (printed QR codes lead there); unset: the request's own.
    public_url: str | None = None
    # Reverse proxies whose X-Forwarded-For names the client (for the rate limits).
    forwarded_allow_ips: str = "127.0.0.1"
    # Public requests per minute and client address (0: no limit); see ratelimit.py.
    rate_limit: int = 300
    # Replicas that must confirm each command (WAIT) before it is acknowledged (Sentinel).
    redis_wait_replicas: int = 0
    # The least time between two snapshots of one location (at most 1000/coalesce_ms a
    # second): a change goes out as soon as the location's last fan-out has ended, unless
    # that began less than this long ago.
    coalesce_ms: int = 20
    # "info" logs every request (without personal data); "warning" only what needs a look.
    log_level: str = "info"
    # Also lets push messages and webhooks go to http://127.0.0.1:<port> (a local push
    # service or receiver for tests and a developer's machine); refused in production.
    push_allow_loopback: bool = False
    # The VAPID private key (PEM) that signs push messages; unset in development: one is
    # generated into the data directory. Required in production.
    vapid_private_key_file: Path | None = None
    # Who push services may contact about this sender (the JWT's "sub"): mailto: or https:.
    vapid_contact: str | None = None
    # Where appointment reminders and service-level alerts are mailed through; None: none.
    smtp: SmtpSettings | None = None

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        demo: bool = False,
        config_path: Path | None = None,
    ) -> Settings:
        env_map = os.environ if environ is None else environ
        env_name = env_map.get("WAITBOARD_ENV", "development").strip() or "development"
        if env_name not in ("development", "production"):
            raise SettingsError(f"WAITBOARD_ENV={env_name!r}: use 'development' or 'production'")
        if config_path is None:
            configured = env_map.get("WAITBOARD_CONFIG")
            config_path = (
                Path(configured) if configured else DEMO_CONFIG if demo else Path("waitboard.toml")
            )
        secret = _value_or_file(env_map, "WAITBOARD_SECRET_KEY") or ""
        if not secret:
            if env_name == "production":
                raise SettingsError(
                    "WAITBOARD_SECRET_KEY is required in production (it signs staff "
                    "sessions); generate one with: python3 -c 'import secrets; "
                    "print(secrets.token_urlsafe(32))'"
                )
            # Development: a fresh key per start; staff simply log in again after a restart.
            secret = secrets.token_urlsafe(32)
        log_level = env_map.get("WAITBOARD_LOG_LEVEL", "").strip().lower() or "info"
        if log_level not in LOG_LEVELS:
            raise SettingsError(
                f"WAITBOARD_LOG_LEVEL={log_level!r}: use one of {', '.join(LOG_LEVELS)}"
            )
        push_allow_loopback = _flag(env_map, "WAITBOARD_PUSH_ALLOW_LOOPBACK")
        if push_allow_loopback and env_name == "production":
            raise SettingsError(
                "WAITBOARD_PUSH_ALLOW_LOOPBACK is refused in production (it lets push "
                "messages and webhooks go to this machine's own loopback address); unset it"
            )
        vapid_file = env_map.get("WAITBOARD_VAPID_PRIVATE_KEY_FILE") or None
        if env_name == "production" and not vapid_file:
            raise SettingsError(
                "WAITBOARD_VAPID_PRIVATE_KEY_FILE is required in production (the key that "
                "signs push messages; keep it: a new key ends every subscription); create "
                "one with: openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 "
                "-topk8 -nocrypt -out vapid.pem"
            )
        vapid_contact = (env_map.get("WAITBOARD_VAPID_CONTACT") or "").strip() or None
        if vapid_contact and not vapid_contact.startswith(("mailto:", "https://")):
            raise SettingsError(
                f"WAITBOARD_VAPID_CONTACT={vapid_contact!r}: use a mailto: address or an "
                "https:// page where push services can reach the office's IT"
            )
        origins = tuple(
            o.strip().rstrip("/")
            for o in env_map.get("WAITBOARD_ALLOWED_ORIGINS", "").split(",")
            if o.strip()
        )
        return cls(
            config_path=config_path,
            demo=demo,
            redis_url=env_map.get("WAITBOARD_REDIS_URL") or None,
            data_dir=Path(env_map.get("WAITBOARD_DATA_DIR") or "var"),
            secret_key=secret,
            env=env_name,  # type: ignore[arg-type]  # checked above
            allowed_origins=origins,
            redis_password=_value_or_file(env_map, "WAITBOARD_REDIS_PASSWORD"),
            public_url=(env_map.get("WAITBOARD_PUBLIC_URL") or "").rstrip("/") or None,
            forwarded_allow_ips=env_map.get("WAITBOARD_FORWARDED_ALLOW_IPS") or "127.0.0.1",
            rate_limit=_int(env_map, "WAITBOARD_RATE_LIMIT", 300),
            redis_wait_replicas=_int(env_map, "WAITBOARD_REDIS_WAIT_REPLICAS", 0),
            coalesce_ms=_int(env_map, "WAITBOARD_COALESCE_MS", 20),
            log_level=log_level,
            push_allow_loopback=push_allow_loopback,
            vapid_private_key_file=Path(vapid_file) if vapid_file else None,
            vapid_contact=vapid_contact,
            smtp=_smtp(env_map),
        )

    def with_redis(self, url: str) -> Settings:
        return replace(self, redis_url=url)

    def as_environ(self) -> dict[str, str]:
        """The environment that rebuilds these settings in a worker process."""
        out = {
            "WAITBOARD_CONFIG": str(self.config_path),
            "WAITBOARD_DATA_DIR": str(self.data_dir),
            "WAITBOARD_SECRET_KEY": self.secret_key,
            "WAITBOARD_ENV": self.env,
            "WAITBOARD_ALLOWED_ORIGINS": ",".join(self.allowed_origins),
            "WAITBOARD_DEMO": "1" if self.demo else "",
        }
        if self.redis_url:
            out["WAITBOARD_REDIS_URL"] = self.redis_url
        if self.redis_password:
            out["WAITBOARD_REDIS_PASSWORD"] = self.redis_password
        if self.public_url:
            out["WAITBOARD_PUBLIC_URL"] = self.public_url
        out["WAITBOARD_RATE_LIMIT"] = str(self.rate_limit)
        out["WAITBOARD_REDIS_WAIT_REPLICAS"] = str(self.redis_wait_replicas)
        out["WAITBOARD_COALESCE_MS"] = str(self.coalesce_ms)
        out["WAITBOARD_FORWARDED_ALLOW_IPS"] = self.forwarded_allow_ips
        out["WAITBOARD_LOG_LEVEL"] = self.log_level
        out["WAITBOARD_PUSH_ALLOW_LOOPBACK"] = "1" if self.push_allow_loopback else ""
        if self.vapid_private_key_file:
            out["WAITBOARD_VAPID_PRIVATE_KEY_FILE"] = str(self.vapid_private_key_file)
        if self.vapid_contact:
            out["WAITBOARD_VAPID_CONTACT"] = self.vapid_contact
        if self.smtp:
            out["WAITBOARD_SMTP_URL"] = self.smtp.url
            out["WAITBOARD_MAIL_FROM"] = self.smtp.mail_from
            if self.smtp.user:
                out["WAITBOARD_SMTP_USER"] = self.smtp.user
            if self.smtp.password:
                out["WAITBOARD_SMTP_PASSWORD"] = self.smtp.password
        return out

    @classmethod
    def for_worker(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings in a uvicorn worker started by ``waitboard serve``."""
        env_map = os.environ if environ is None else environ
        return cls.from_env(env_map, demo=env_map.get("WAITBOARD_DEMO") == "1")


def webhook_secret(
    webhook_id: str,
    secret_file: str | None,
    secret_env: str | None,
    env: Environment,
    environ: Mapping[str, str] | None = None,
) -> str:
    """A webhook's signing secret: the content of its ``secret_file``, or (development
    only) of the environment variable its ``secret_env`` names; SettingsError saying which
    webhook and what to do."""
    where = f"webhook {webhook_id}"
    if secret_file:
        try:
            secret = Path(secret_file).read_text(encoding="utf-8").strip()
        except UnicodeDecodeError:
            raise SettingsError(
                f"{where}: secret_file {secret_file}: not text; write the signing secret "
                "into it as text (whsec_...)"
            ) from None
        except OSError as e:
            raise SettingsError(
                f"{where}: secret_file {secret_file}: cannot read it ({e.strerror}); "
                "write the signing secret into it, readable by the service only"
            ) from e
        if not secret:
            raise SettingsError(f"{where}: secret_file {secret_file} is empty")
        return secret
    if env == "production":
        raise SettingsError(
            f"{where}: secret_env is for development; in production name a file with secret_file"
        )
    env_map = os.environ if environ is None else environ
    secret = (env_map.get(secret_env or "") or "").strip()
    if not secret:
        raise SettingsError(f"{where}: secret_env: the variable {secret_env} is not set")
    return secret


def load_office(path: Path) -> Office:
    """Read and validate a configuration file; ConfigError lists every problem found."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError([f"{path}: cannot read: {e}"]) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([f"{path}: not valid TOML: {e}"]) from None
    return parse_office(raw, source=str(path))
