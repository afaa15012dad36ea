"""Web Push end to end: waitboard on a real uvicorn and a real Redis, pushing to the local
push service of tests/push_service.py, which checks the VAPID signature and decrypts every
message with the subscription's keys as a real one would."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from tests.helpers import TIMEOUT, LiveServer, auth, eventually, live_server
from tests.openapi_check import check
from tests.push_service import PushService, Reply, running_push_service
from waitboard.core.office import Office
from waitboard.core.outbound import IPAddress
from waitboard.store import keys
from waitboard.store.jobs import Jobs

ISSUE = "/api/v1/locations/sued/tickets"
SUBSCRIBE = "/api/v1/tickets/{ticket_id}/subscriptions"
COUNTER = auth("counter-sued-1")


class Names:
    """Name resolution the test decides: what each host resolves to, changeable."""

    def __init__(self) -> None:
        self.table: dict[str, list[str]] = {}
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append(host)
        return [ipaddress.ip_address(a) for a in self.table.get(host, ["93.184.215.14"])]


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    async with running_push_service() as service:
        yield service


@pytest.fixture
def names() -> Names:
    return Names()


@pytest.fixture
async def server(
    redis_server: object, redis: Redis, office: Office, names: Names
) -> AsyncIterator[LiveServer]:
    async with live_server(
        redis_server.url,  # type: ignore[attr-defined]
        office,
        resolver=names,
        push_allow_loopback=True,
        public_url="https://warten.example",
    ) as srv:
        yield srv


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as client:
        yield client


async def issue(http: httpx.AsyncClient, n: int = 1) -> list[dict[str, object]]:
    out = []
    for _ in range(n):
        r = await http.post(ISSUE, json={"queue": "A"}, headers=auth("terminal-sued"))
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out


async def server_key(http: httpx.AsyncClient) -> str:
    r = await http.get("/api/v1/push/key")
    return str(check(r, "GET", "/api/v1/push/key")["public_key"])


async def subscribe(
    http: httpx.AsyncClient, ticket_id: object, subscription: dict[str, object], **extra: object
) -> httpx.Response:
    return await http.post(SUBSCRIBE.format(ticket_id=ticket_id), json={**subscription, **extra})


async def call(http: httpx.AsyncClient) -> dict[str, object]:
    r = await http.post("/api/v1/locations/sued/counters/1/call-next", headers=COUNTER)
    assert r.status_code == 200, r.text
    called: dict[str, object] = r.json()
    for action in ("start", "complete"):
        r = await http.post(f"/api/v1/tickets/{called['id']}/{action}", headers=COUNTER)
        assert r.status_code == 200, r.text
    return called


async def test_soon_once_at_the_chosen_position_then_called_in_the_language(
    http: httpx.AsyncClient, push_service: PushService
) -> None:
    """Six people ahead, "tell me at two": nothing until two are ahead, then "soon" once;
    the call comes with the counter's name; everything in Turkish, the page's language."""
    await http.post("/api/v1/locations/sued/counters/1/open", headers=COUNTER)
    *_, mine = await issue(http, 7)
    sub = push_service.new_subscription(await server_key(http))
    r = await subscribe(http, mine["id"], sub, ahead=2, lang="tr")
    assert r.status_code == 201
    assert check(r, "POST", SUBSCRIBE)["id"]
    for _ in range(3):
        await call(http)
    assert push_service.messages(sub) == []  # three ahead still
    await call(http)
    [soon] = await push_service.wait_for_messages(sub, 1)
    assert soon.payload["type"] == "soon" and soon.payload["ahead"] == 2
    assert soon.payload["ticket_id"] == mine["id"] and soon.payload["number"] == mine["number"]
    assert soon.payload["url"] == f"https://warten.example/tickets/{mine['id']}?lang=tr"
    assert soon.payload["title"] == f"Sıranız yaklaşıyor: {mine['number']}"
    assert "Önünüzde 2 kişi var" in soon.payload["body"]
    assert soon.ttl > 0 and soon.urgency == "high"
    assert soon.claims["aud"] == push_service.origin
    await call(http)
    await call(http)  # one ahead, then none: still no second "soon"
    r = await http.post("/api/v1/locations/sued/counters/1/call-next", headers=COUNTER)
    assert r.json()["id"] == mine["id"]
    soon_again, called = await push_service.wait_for_messages(sub, 2)
    assert soon_again is soon
    assert called.payload["type"] == "called"
    assert called.payload["counter_name"] == "Schalter 1"
    assert called.payload["body"] == "Lütfen şimdi Schalter 1 bölümüne gelin."
    # Recalled, then served: nothing more, and the subscription is gone with the ticket.
    await http.post(f"/api/v1/tickets/{mine['id']}/recall", headers=COUNTER)
    *_, recalled = await push_service.wait_for_messages(sub, 3)
    assert recalled.payload["type"] == "recalled"
    assert recalled.payload["counter_name"] == "Schalter 1"


async def test_a_subscription_within_reach_is_told_at_once_and_ends_with_its_ticket(
    http: httpx.AsyncClient, push_service: PushService, redis: Redis
) -> None:
    [ticket] = await issue(http)
    sub = push_service.new_subscription(await server_key(http))
    assert (await subscribe(http, ticket["id"], sub)).status_code == 201
    [soon] = await push_service.wait_for_messages(sub, 1)
    assert soon.payload["type"] == "soon" and soon.payload["ahead"] == 0
    assert soon.payload["body"].startswith("Sie sind als Nächstes dran.")
    assert soon.payload["url"] == f"https://warten.example/tickets/{ticket['id']}"
    r = await http.post(f"/api/v1/tickets/{ticket['id']}/cancel", headers=auth("reception-sued"))
    assert r.status_code == 200
    _, closed = await push_service.wait_for_messages(sub, 2)
    assert closed.payload["type"] == "closed"
    assert set(closed.payload) == {"type", "ticket_id", "number", "url", "title", "body", "id"}

    async def nothing_kept() -> bool:
        found = [k async for k in redis.scan_iter(match=f"{keys.prefix('sued')}push:*")]
        listed = await redis.exists(keys.push_tickets("sued"))
        return not found and not listed and await Jobs(redis).pending() == 0

    await eventually(nothing_kept, "the ticket's subscription and jobs to be gone")


async def test_transferred_with_the_new_service(
    http: httpx.AsyncClient, push_service: PushService
) -> None:
    await issue(http, 3)
    [mine] = await issue(http)
    sub = push_service.new_subscription(await server_key(http))
    await subscribe(http, mine["id"], sub, ahead=1, lang="en")
    r = await http.post(
        f"/api/v1/tickets/{mine['id']}/transfer",
        json={"queue": "B"},
        headers=auth("reception-sued"),
    )
    assert r.status_code == 200, r.text
    messages = await push_service.wait_for_messages(sub, 2)  # transferred, and soon (none in B)
    kinds = {m.payload["type"]: m.payload for m in messages}
    assert kinds["transferred"]["queue_name"] == "Benefits"
    assert kinds["transferred"]["body"] == "You are now waiting for: Benefits."
    assert kinds["soon"]["ahead"] == 0


async def test_a_busy_push_service_is_tried_again_and_a_gone_subscription_dropped(
    http: httpx.AsyncClient, push_service: PushService, redis: Redis
) -> None:
    [first, second] = await issue(http, 2)
    key = await server_key(http)
    busy = push_service.new_subscription(key)
    push_service.answer_next(busy, Reply(503, retry_after="1"))
    await subscribe(http, first["id"], busy)
    [soon] = await push_service.wait_for_messages(busy, 1)  # after the 503, once
    assert soon.payload["type"] == "soon"
    statuses = [r.status for r in push_service.requests]
    assert statuses == [503, 201]

    gone = push_service.new_subscription(key)
    push_service.expire(gone)  # the browser unsubscribed: 410 from now on
    r = await subscribe(http, second["id"], gone, ahead=5)
    assert r.status_code == 201

    async def dropped() -> bool:
        return not await redis.hexists(
            keys.push_subscriptions("sued", second["id"]), r.json()["id"]
        )

    await eventually(dropped, "the expired subscription to be deleted")
    assert [q.status for q in push_service.requests][-1] == 410


async def test_delete_stops_the_messages(
    http: httpx.AsyncClient, push_service: PushService
) -> None:
    await http.post("/api/v1/locations/sued/counters/1/open", headers=COUNTER)
    [_, mine, other] = await issue(http, 3)
    key = await server_key(http)
    sub = push_service.new_subscription(key)
    witness = push_service.new_subscription(key)
    sub_id = (await subscribe(http, mine["id"], sub, ahead=1)).json()["id"]
    await push_service.wait_for_messages(sub, 1)  # soon (one ahead)
    r = await http.delete(f"{SUBSCRIBE.format(ticket_id=mine['id'])}/{sub_id}")
    assert r.status_code == 204
    r = await http.delete(f"{SUBSCRIBE.format(ticket_id=mine['id'])}/{sub_id}")
    assert r.status_code == 404  # gone already
    await call(http)  # the first is served; mine is called next
    r = await http.post("/api/v1/locations/sued/counters/1/call-next", headers=COUNTER)
    assert r.json()["id"] == mine["id"]
    # A witness subscribed after mine was called hears its "soon": by then mine's call was
    # compared too, and mine heard nothing.
    await subscribe(http, other["id"], witness, ahead=1)
    await push_service.wait_for_messages(witness, 1)
    assert [m.payload["type"] for m in push_service.messages(sub)] == ["soon"]


@pytest.mark.parametrize(
    ("endpoint", "why"),
    [
        ("http://push.example/x", "https"),
        ("https://10.1.2.3/x", "private"),
        ("https://169.254.169.254/latest/meta-data", "metadata"),
        ("https://192.168.0.7/x", "private"),
        ("https://localhost/x", "own address"),
        ("https://push.rebind.test/x", "own address"),
    ],
)
async def test_refused_endpoints_get_422_and_no_request(
    http: httpx.AsyncClient, push_service: PushService, names: Names, endpoint: str, why: str
) -> None:
    names.table["push.rebind.test"] = ["127.0.0.1"]
    [ticket] = await issue(http)
    sub = {**push_service.new_subscription(await server_key(http)), "endpoint": endpoint}
    r = await subscribe(http, ticket["id"], sub)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert why in r.json()["detail"].lower()
    assert push_service.requests == []


async def test_loopback_without_the_flag_is_refused(
    redis_server: object, redis: Redis, office: Office, push_service: PushService
) -> None:
    async with (
        live_server(redis_server.url, office) as srv,  # type: ignore[attr-defined]
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
    ):
        [ticket] = await issue(http)
        sub = push_service.new_subscription(await server_key(http))
        r = await subscribe(http, ticket["id"], sub)
        assert r.status_code == 422 and "https" in r.json()["detail"]
        for endpoint in ("https://127.0.0.1/x", "https://[::1]/x"):
            r = await subscribe(http, ticket["id"], {**sub, "endpoint": endpoint})
            assert r.status_code == 422 and "own address" in r.json()["detail"]
    assert push_service.requests == []


async def test_a_name_that_turns_to_loopback_after_subscribing_gets_nothing(
    http: httpx.AsyncClient, push_service: PushService, names: Names, redis: Redis
) -> None:
    """DNS rebinding: public when subscribed, loopback when sending: nothing is sent, the
    subscription is dropped."""
    [_, mine] = await issue(http, 2)
    names.table["push.flip.test"] = ["93.184.215.14"]
    sub = {**push_service.new_subscription(), "endpoint": "https://push.flip.test/abc"}
    r = await subscribe(http, mine["id"], sub, ahead=1)  # one ahead: "soon" goes out at once
    assert r.status_code == 201
    names.table["push.flip.test"] = ["127.0.0.1"]  # (before the job is sent, or after a retry)

    async def dropped() -> bool:
        return not await redis.exists(keys.push_subscriptions("sued", mine["id"]))

    await eventually(dropped, "the rebound subscription to be dropped")
    assert names.asked.count("push.flip.test") >= 2  # at subscribing, and again at sending
    assert push_service.requests == []


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"keys": {"p256dh": "BAAA" + "A" * 83, "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, 422, "p256dh"),
        ({"auth": "AAAAAAAAAAAAAAAA"}, 422, "auth"),
        ({"ahead": 11}, 422, "ahead"),
        ({"ahead": 0}, 422, "ahead"),
        ({"lang": "fr"}, 422, "lang"),
        ({"endpoint": None}, 422, "endpoint"),
    ],
)
async def test_malformed_subscriptions_are_422_and_change_nothing(
    http: httpx.AsyncClient,
    push_service: PushService,
    redis: Redis,
    change: dict[str, object],
    status: int,
    field: str,
) -> None:
    [ticket] = await issue(http)
    sub: dict[str, object] = push_service.new_subscription()
    if "auth" in change:
        sub["keys"] = {**sub["keys"], "auth": change.pop("auth")}  # type: ignore[dict-item]
    r = await subscribe(http, ticket["id"], {**sub, **change})
    assert r.status_code == status, r.text
    assert field in r.text
    assert not await redis.exists(keys.push_tickets("sued"))


async def test_unknown_ticket_404_and_a_ticket_no_longer_waiting_409(
    http: httpx.AsyncClient, push_service: PushService
) -> None:
    sub = push_service.new_subscription()
    r = await subscribe(http, "t_sued_doesnotexist000000", sub)
    assert r.status_code == 404
    [ticket] = await issue(http)
    await http.post("/api/v1/locations/sued/counters/1/open", headers=COUNTER)
    await http.post("/api/v1/locations/sued/counters/1/call-next", headers=COUNTER)
    r = await subscribe(http, ticket["id"], sub)
    assert r.status_code == 409 and r.json()["code"] == "ticket_not_waiting"


async def test_delete_of_another_tickets_subscription_is_404(
    http: httpx.AsyncClient, push_service: PushService
) -> None:
    [a, b] = await issue(http, 2)
    sub_id = (await subscribe(http, a["id"], push_service.new_subscription(), ahead=1)).json()["id"]
    r = await http.delete(f"{SUBSCRIBE.format(ticket_id=b['id'])}/{sub_id}")
    assert r.status_code == 404
    r = await http.delete(f"{SUBSCRIBE.format(ticket_id=a['id'])}/{sub_id}")
    assert r.status_code == 204


async def test_the_same_endpoint_again_replaces_its_subscription(
    http: httpx.AsyncClient, push_service: PushService
) -> None:
    await issue(http, 4)
    [mine] = await issue(http)
    sub = push_service.new_subscription(await server_key(http))
    first = (await subscribe(http, mine["id"], sub, ahead=1)).json()["id"]
    second = (await subscribe(http, mine["id"], sub, ahead=4)).json()["id"]
    assert first == second
    [soon] = await push_service.wait_for_messages(sub, 1)  # four ahead: now within reach
    assert soon.payload["ahead"] == 4


async def test_nothing_of_a_subscription_is_logged(
    http: httpx.AsyncClient, push_service: PushService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    [ticket] = await issue(http)
    sub = push_service.new_subscription(await server_key(http))
    await subscribe(http, ticket["id"], sub, ahead=1)
    [message] = await push_service.wait_for_messages(sub, 1)
    token = str(sub["endpoint"]).rsplit("/", 1)[1]
    secrets_ = [token, sub["keys"]["p256dh"], sub["keys"]["auth"], message.payload["title"]]  # type: ignore[index]
    # (The push service's own access log names its path: that is the receiver's side.)
    ours = [r for r in caplog.records if '"POST /push/' not in r.getMessage()]
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in ours)
    for secret in secrets_:
        assert str(secret) not in text


async def test_turning_off_stops_a_message_still_waiting(
    http: httpx.AsyncClient, push_service: PushService, redis: Redis
) -> None:
    """The push service was busy; the person turns notifications off before the retry:
    the retry sends nothing."""
    [ticket] = await issue(http)
    sub = push_service.new_subscription(await server_key(http))
    push_service.answer_next(sub, Reply(503, retry_after=1))
    sub_id = (await subscribe(http, ticket["id"], sub)).json()["id"]
    await push_service.wait_for_requests(1)
    r = await http.delete(f"{SUBSCRIBE.format(ticket_id=ticket['id'])}/{sub_id}")
    assert r.status_code in (204, 404)  # (404: the 503's answer came first: gone anyway)
    jobs = Jobs(redis)

    async def settled() -> bool:
        return await jobs.pending() == 0

    await eventually(settled, "the waiting message to be settled")
    assert [q.status for q in push_service.requests] == [503]
