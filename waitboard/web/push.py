"""HTTP API v1 for Web Push: the server's public key, and a ticket's subscriptions.

Public like the ticket itself: whoever has the ticket's (unguessable) address may ask to be
told about it; at most five browsers per ticket
(:data:`waitboard.services.push.MAX_PER_TICKET`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from waitboard.context import context
from waitboard.core.errors import NotFound, Unavailable
from waitboard.services.push import Push, SubscribeRequest
from waitboard.web import bodies, schemas
from waitboard.web.api import Endpoint, json


def _push(request: Request) -> Push:
    push = context(request).push
    if push is None:
        raise Unavailable("Push messages are not set up on this server.")
    return push


async def public_key(request: Request) -> Response:
    return json({"public_key": _push(request).vapid.public_key})


async def subscribe(request: Request) -> Response:
    push = _push(request)
    ticket_id = request.path_params["ticket_id"]
    body = await bodies.parse(request, schemas.PushSubscriptionRequest)
    sub_id = await push.subscribe(
        ticket_id,
        SubscribeRequest(
            endpoint=body.endpoint,
            p256dh=body.keys.p256dh,
            auth=body.keys.auth,
            ahead=body.ahead,
            lang=body.lang or "de",
        ),
        str(request.base_url),
    )
    return json({"id": sub_id}, 201)


async def unsubscribe(request: Request) -> Response:
    ticket_id = request.path_params["ticket_id"]
    if not await _push(request).unsubscribe(ticket_id, request.path_params["subscription"]):
        raise NotFound("This ticket has no such subscription (any more).")
    return Response(status_code=204, headers={"Cache-Control": "no-store"})


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/api/v1/push/key",
        public_key,
        "The VAPID public key a browser subscribes with (applicationServerKey).",
        answers={200: schemas.PushKey},
        errors=(503,),
        tag="push",
    ),
    Endpoint(
        "POST",
        "/api/v1/tickets/{ticket_id}/subscriptions",
        subscribe,
        "Be told by Web Push when the ticket is nearly next, called, recalled, transferred or "
        "ended without a call. The same endpoint again replaces its subscription. 409: the "
        "ticket no longer waits; 422: keys, endpoint (https, public addresses only) or ahead.",
        body=schemas.PushSubscriptionRequest,
        answers={201: schemas.PushSubscriptionCreated},
        errors=(404, 409, 413, 415, 422, 503),
        tag="push",
    ),
    Endpoint(
        "DELETE",
        "/api/v1/tickets/{ticket_id}/subscriptions/{subscription}",
        unsubscribe,
        "End a subscription: no more messages.",
        answers={204: None},
        errors=(404, 503),
        tag="push",
    ),
)
