"""The ticket page's "tell me when I am nearly next" in a real Chromium.

Headless Chromium registers the service worker and asks for permission as a phone does,
but it cannot reach a browser vendor's push service (FCM) from here: its own
``PushManager.subscribe()`` fails, and the page says so plainly (tested). Past that point
the test hands the page a subscription of the local push service (tests/push_service.py)
in place of FCM's - the one step it stands in for - and from there everything is real:
the page posts it, the server pushes "soon", the push service decrypts it, the service
worker shows it as a notification, and turning it off deletes it on the server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from playwright.async_api import Browser, expect
from redis.asyncio import Redis

from tests.helpers import TIMEOUT, LiveServer, auth, eventually, live_server
from tests.push_service import PushService, running_push_service
from waitboard.core.office import Office
from waitboard.store import keys

pytestmark = pytest.mark.browser

MS = TIMEOUT * 1000
#: Stands in for FCM: PushManager.subscribe() answers with the local push service's
#: subscription (kept in the page's window.__subscription by the test).
LOCAL_PUSH_SERVICE = """
PushManager.prototype.getSubscription = async function () { return null; };
PushManager.prototype.subscribe = async function (options) {
  window.__subscribed_with = options;
  const json = window.__subscription;
  return { endpoint: json.endpoint, toJSON: () => json };
};
"""


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    async with running_push_service() as service:
        yield service


@pytest.fixture
async def server(redis_server: object, redis: Redis, office: Office) -> AsyncIterator[LiveServer]:
    async with live_server(
        redis_server.url,  # type: ignore[attr-defined]
        office,
        push_allow_loopback=True,
    ) as srv:
        yield srv


async def ticket(server: LiveServer) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        r = await http.post(
            "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
        )
        out: dict[str, str] = r.json()
        out["key"] = (await http.get("/api/v1/push/key")).json()["public_key"]
        return out


async def test_the_button_subscribes_and_the_phone_is_told(
    browser: Browser, server: LiveServer, push_service: PushService, redis: Redis
) -> None:
    t = await ticket(server)
    sub = push_service.new_subscription(t["key"])
    context = await browser.new_context()
    await context.grant_permissions(["notifications"], origin=server.url)
    await context.add_init_script(LOCAL_PUSH_SERVICE)
    page = await context.new_page()
    await page.goto(f"{server.url}/tickets/{t['id']}")
    await page.evaluate(f"window.__subscription = {orjson.dumps(sub).decode()}")
    box = page.locator("[data-notify]")
    await expect(box).to_be_visible()
    await expect(page.locator("#notify-ahead")).to_have_value("3")  # the location's default
    await page.select_option("#notify-ahead", "2")
    await page.get_by_role("button", name="Benachrichtigen, wenn ich bald dran bin").click()
    await expect(page.locator("[data-notify-status]")).to_contain_text("Eingeschaltet", timeout=MS)
    # The service worker looks after the ticket pages; it subscribed with the server's key.
    scope = await page.evaluate(
        "navigator.serviceWorker.getRegistration('/tickets/').then(r => r && r.scope)"
    )
    assert scope == f"{server.url}/tickets/"
    assert await page.evaluate("window.__subscribed_with.userVisibleOnly") is True
    # Nobody ahead: the server pushes "soon" at once; the push service decrypted it.
    [soon] = await push_service.wait_for_messages(sub, 1)
    assert soon.payload["type"] == "soon" and soon.payload["ticket_id"] == t["id"]
    # The service worker shows what the server wrote: its push event fired through the
    # DevTools protocol, with the payload as the push service decrypted it for the browser.
    cdp = await context.new_cdp_session(page)
    registrations: list[dict[str, str]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    await cdp.send("ServiceWorker.enable")
    await eventually(lambda: bool(registrations), "the service worker's registration")
    await cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": server.url,
            "registrationId": registrations[0]["registrationId"],
            "data": orjson.dumps(soon.payload).decode(),
        },
    )
    shown_js = """async () => {
        const r = await navigator.serviceWorker.getRegistration('/tickets/');
        return (await r.getNotifications()).map(n => [n.title, n.body, n.tag]);
    }"""

    async def shown() -> bool:
        return bool(await page.evaluate(shown_js))

    await eventually(shown, "the notification to be shown")
    [(title, body, tag)] = await page.evaluate(shown_js)
    assert (title, body, tag) == (soon.payload["title"], soon.payload["body"], t["id"])
    await expect(page.get_by_role("button", name="Benachrichtigung ausschalten")).to_be_visible()
    await page.get_by_role("button", name="Benachrichtigung ausschalten").click()
    await expect(page.locator("[data-notify-status]")).to_contain_text("Ausgeschaltet", timeout=MS)

    async def deleted() -> bool:
        return not await redis.exists(keys.push_subscriptions("sued", t["id"]))

    await eventually(deleted, "the subscription to be deleted on the server")
    await context.close()


async def test_without_a_push_service_the_page_says_so(
    browser: Browser, server: LiveServer
) -> None:
    """Headless Chromium's own subscribe() cannot reach FCM from here: a plain message."""
    t = await ticket(server)
    context = await browser.new_context()
    await context.grant_permissions(["notifications"], origin=server.url)
    page = await context.new_page()
    await page.goto(f"{server.url}/tickets/{t['id']}")
    await page.get_by_role("button", name="Benachrichtigen, wenn ich bald dran bin").click()
    await expect(page.locator("[data-notify-status]")).to_contain_text(
        "konnte die Benachrichtigung gerade nicht einrichten", timeout=MS
    )
    await context.close()


async def test_a_refused_permission_is_explained(browser: Browser, server: LiveServer) -> None:
    t = await ticket(server)
    context = await browser.new_context()
    await context.add_init_script("Notification.requestPermission = async () => 'denied';")
    page = await context.new_page()
    await page.goto(f"{server.url}/tickets/{t['id']}")
    await page.get_by_role("button", name="Benachrichtigen, wenn ich bald dran bin").click()
    await expect(page.locator("[data-notify-status]")).to_contain_text(
        "keine Benachrichtigungen", timeout=MS
    )
    await context.close()


async def test_a_browser_without_push_keeps_the_live_page(
    browser: Browser, server: LiveServer
) -> None:
    """iOS Safari in a tab has no PushManager: the page says so, and how to get it."""
    t = await ticket(server)
    context = await browser.new_context(
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
    )
    await context.add_init_script("delete window.PushManager;")
    page = await context.new_page()
    await page.goto(f"{server.url}/tickets/{t['id']}")
    await expect(page.locator("[data-notify-unsupported]")).to_be_visible()
    await expect(page.locator("[data-notify-unsupported]")).to_contain_text("geöffnet")
    await expect(page.locator("[data-notify-ios]")).to_contain_text("Home-Bildschirm")
    await expect(page.locator("[data-notify]")).to_be_hidden()
    await context.close()
