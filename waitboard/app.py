"""``create_app(settings)``: the whole service as one ASGI app, wired in its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from waitboard import logs, middleware
from waitboard.context import AppContext, Background, context
from waitboard.core.clock import Clock, system_clock
from waitboard.core.errors import ConfigError, Unavailable, WaitboardError
from waitboard.core.office import Office
from waitboard.core.webhook_signature import secret_key
from waitboard.demo import demo_token_hashes
from waitboard.live import endpoints as live
from waitboard.live.hub import Hub, HubTiming
from waitboard.messaging import messaging, vapid_contact
from waitboard.metrics import CONTENT_TYPE, Metrics
from waitboard.pages import (
    accessibility,
    audit,
    barrier_reports,
    sessions,
    staff,
    staff_people,
    terminal,
)
from waitboard.pages import applications as application_pages
from waitboard.pages import bookings as booking_pages
from waitboard.pages import public as pages
from waitboard.services import outbound
from waitboard.services.applications import Applications
from waitboard.services.auth import DeviceRegistry
from waitboard.services.limits import Limits
from waitboard.services.oidc import OidcClient
from waitboard.services.push_keys import check_contact
from waitboard.services.staff_sign_in import StaffSignIn
from waitboard.services.webhook_deliverer import WebhookTiming
from waitboard.services.webhooks import Webhooks, check_addresses
from waitboard.services.webhooks import pairs as webhook_pairs
from waitboard.settings import (
    DEMO_CONFIG,
    Settings,
    SettingsError,
    load_office,
    sign_in_client_secret,
    webhook_secret,
)
from waitboard.store.application_retention import sweep_forever
from waitboard.store.applications import ApplicationStore
from waitboard.store.limits import Limiter
from waitboard.store.office_store import Store
from waitboard.store.redis import connect
from waitboard.store.webhooks import WebhookStore
from waitboard.tasks import supervise
from waitboard.web import api, openapi
from waitboard.web import applications as application_api
from waitboard.web import appointments as appointment_api
from waitboard.web import push as push_api

log = logging.getLogger(__name__)


def check_production(settings: Settings, office: Office) -> None:
    """Production refuses what is only safe on a laptop; in every environment, a webhook
    whose secret or address cannot be used stops the start."""
    webhook_keys(settings, office)
    try:
        check_contact(vapid_contact(settings))
    except ValueError as e:
        raise SettingsError(f"WAITBOARD_VAPID_CONTACT: {e}") from None
    key = settings.vapid_private_key_file
    if key is not None and not key.is_file():
        raise SettingsError(
            f"WAITBOARD_VAPID_PRIVATE_KEY_FILE={key}: no such file (the key that signs push "
            "messages; docs/push.md says how to create it)"
        )
    if settings.env != "production":
        return
    if office.sign_in is not None and not office.sign_in.issuer.startswith("https://"):
        raise SettingsError(
            "WAITBOARD_ENV=production: sign_in: issuer must be an https:// address (the "
            "provider's answers carry who signs in)"
        )
    if settings.demo or settings.config_path.resolve() == DEMO_CONFIG.resolve():
        raise SettingsError(
            "WAITBOARD_ENV=production: the demo office cannot be served in "
            "production; set WAITBOARD_CONFIG to your office's file"
        )
    public = [d.id for d in office.devices if d.token_sha256 in demo_token_hashes()]
    if public:
        raise SettingsError(
            f"WAITBOARD_ENV=production: device(s) {', '.join(public)} use a "
            "public demo token; create real ones with `waitboard token ID`"
        )


def webhook_keys(settings: Settings, office: Office) -> dict[str, bytes]:
    """Each webhook's signing key, read from its secret file (or variable); SettingsError
    naming the webhook when a secret or an address cannot be used."""
    try:
        check_addresses(office, allow_loopback=settings.push_allow_loopback)
    except ConfigError as e:
        raise SettingsError("; ".join(e.errors)) from None
    found = {}
    for hook in office.webhooks:
        secret = webhook_secret(hook.id, hook.secret_file, hook.secret_env, settings.env)
        try:
            found[hook.id] = secret_key(secret)
        except ValueError as e:
            raise SettingsError(f"webhook {hook.id}: {e}") from None
    return found


async def livez(request: Request) -> Response:
    return api.json({"status": "ok"})


async def readyz(request: Request) -> Response:
    if not await context(request).store.ping():
        raise Unavailable("Redis is not reachable.")
    return api.json({"status": "ok"})


async def metrics(request: Request) -> Response:
    return Response(context(request).metrics.render(), media_type=CONTENT_TYPE)


async def openapi_json(request: Request) -> Response:
    return api.json(openapi.document())


async def roll_days_forever(store: Store, office: Office, every_s: float) -> None:
    """Start each location's new business day soon after midnight, for the service's
    lifetime (a roll that finds the day current changes nothing). Every process does:
    the script decides, once, in Redis."""
    while True:
        await asyncio.sleep(every_s)
        for loc in office.locations:
            await store.roll_day(loc.id)


async def trim_audit_forever(store: Store, every_s: float) -> None:
    """Apply the audit's retention to every stream now and every ``every_s`` - also to a
    stream nobody writes to any more (a removed location's), for the service's lifetime.
    Every process does; trimming what is already trimmed changes nothing."""
    while True:
        try:
            removed = await store.trim_audit()
            if removed:
                log.info("audit records past the retention deleted", extra={"count": removed})
        except Unavailable:
            pass  # Redis away: the next round trims what is due then
        await asyncio.sleep(every_s)


def create_app(
    settings: Settings,
    *,
    office: Office | None = None,
    clock: Clock = system_clock,
    timing: HubTiming | None = None,
    limits: Limits | None = None,
    webhook_timing: WebhookTiming | None = None,
    resolver: outbound.Resolver = outbound.resolve,
) -> Starlette:
    if not settings.redis_url:
        raise SettingsError(
            "create_app needs settings.redis_url (the CLI starts the embedded Redis and sets it)"
        )
    office = office or load_office(settings.config_path)
    check_production(settings, office)
    hook_keys = webhook_keys(settings, office)
    redis_url = settings.redis_url
    oidc = (
        OidcClient(
            office.sign_in, sign_in_client_secret(office.sign_in.client_secret_file, settings.env)
        )
        if office.sign_in is not None
        else None
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        redis = connect(redis_url, password=settings.redis_password, max_connections=48)
        reads = connect(redis_url, password=settings.redis_password, max_connections=16)
        # The rate limits ask Redis for every public request: a pool of their own, so a
        # crowd of visitors waits for it, never the terminals' commands or the hub's reads.
        limits_redis = connect(redis_url, password=settings.redis_password, max_connections=16)
        store = Store(redis, office, clock, reads=reads, wait_replicas=settings.redis_wait_replicas)
        metrics_ = Metrics()
        hub = Hub(
            store,
            office,
            metrics_,
            clock,
            timing or HubTiming(coalesce_s=settings.coalesce_ms / 1000),
        )
        limiter = Limiter(limits_redis, settings.secret_key, metrics_)
        background = Background()
        application_store = ApplicationStore(
            redis,
            reads,
            wait_replicas=settings.redis_wait_replicas,
            keep_days_after_decision=office.applications.keep_days_after_decision,
            audit_days=office.audit_days,
            audit_secret=settings.secret_key,
        )
        app.state.ctx = AppContext(
            settings=settings,
            office=office,
            devices=DeviceRegistry.of(office),
            metrics=metrics_,
            clock=clock,
            store=store,
            hub=hub,
            limiter=limiter,
            applications=Applications(
                application_store, limiter, clock, settings.secret_key, background.spawn
            ),
            background=background,
            sign_in=StaffSignIn(oidc, store, clock, settings.secret_key) if oidc else None,
        )
        for loc in office.locations:
            try:
                await store.roll_day(loc.id)
            except Unavailable:
                log.warning(
                    "redis not reachable at start; serving and retrying", extra={"location": loc.id}
                )
                break
        await hub.start()
        # The deliverers' reads wait for new events on their connections: a pool of their own.
        webhook_redis = connect(
            redis_url,
            password=settings.redis_password,
            max_connections=2 * len(webhook_pairs(office)) + 2,
        )
        webhooks = Webhooks(
            WebhookStore(webhook_redis),
            office,
            hook_keys,
            metrics_,
            allow_loopback=settings.push_allow_loopback,
            timing=webhook_timing,
            resolver=resolver,
        )
        await webhooks.start()
        sending = messaging(settings, office, store, redis, clock, metrics_, resolver)
        app.state.ctx.push, app.state.ctx.reminders = sending.push, sending.reminders
        sending.start()
        sweeper = asyncio.create_task(
            supervise("applications sweep", lambda: sweep_forever(application_store))
        )
        roller = asyncio.create_task(
            supervise("day roll", lambda: roll_days_forever(store, office, hub.timing.roll_day_s))
        )
        trimmer = asyncio.create_task(
            supervise("audit retention", lambda: trim_audit_forever(store, hub.timing.audit_trim_s))
        )
        background_tasks = [sweeper, roller, trimmer]
        log.info("waitboard ready", extra={"locations": len(office.locations), "env": settings.env})
        try:
            yield
        finally:
            for task in background_tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await webhooks.stop()
            await webhook_redis.aclose()
            await sending.stop()
            await background.stop()
            await hub.stop()
            await redis.aclose()
            await reads.aclose()
            await limits_redis.aclose()

    routes = [
        Route("/livez", livez),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        Route("/api/v1/openapi.json", openapi_json),
        *api.routes(),
        *pages.routes(),
        *accessibility.routes(),
        *barrier_reports.routes(),
        *audit.routes(),
        *staff_people.routes(),
        *staff.routes(),
        *terminal.routes(),
        *(Route(e.path, e.handler, methods=[e.method]) for e in application_api.ENDPOINTS),
        *application_pages.routes(),
        *(Route(e.path, e.handler, methods=[e.method]) for e in appointment_api.ENDPOINTS),
        *(Route(e.path, e.handler, methods=[e.method]) for e in push_api.ENDPOINTS),
        *booking_pages.routes(),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            WaitboardError: middleware.on_waitboard_error,
            HTTPException: middleware.on_http_exception,
        },
    )
    # From the inside out: the size of bodies, the live feeds (past routing), the rate
    # limits (they trust a valid session, so they sit inside the sessions), the sessions,
    # the security headers.
    app.add_middleware(middleware.BodyLimit)
    app.add_middleware(live.LiveMiddleware)
    app.add_middleware(
        middleware.RateLimit, limits=limits or Limits.for_public(settings.rate_limit)
    )
    # Staff and kiosk sessions: a signed cookie, never sent to other sites (SameSite=Strict),
    # out of reach of scripts (HttpOnly, Starlette's default), HTTPS-only in production.
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=sessions.COOKIE,
        max_age=sessions.COOKIE_MAX_AGE_S,
        same_site="strict",
        https_only=settings.env == "production",
    )
    app.add_middleware(middleware.Web)
    return app


def app_from_env() -> Starlette:
    """The factory ``waitboard serve`` hands to uvicorn (one call per worker process)."""
    settings = Settings.for_worker()
    logs.configure(settings.log_level.upper())  # a worker process starts unconfigured
    return create_app(settings)
