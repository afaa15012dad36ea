"""A webhook deliverer as a process of its own, for a test to kill (``SIGKILL``) mid-work.

``python -m tests.webhook_process REDIS_URL RECEIVER_URL SECRET LEASE_S``: delivers the
events of location sued of the test office to the receiver, until killed.
"""

from __future__ import annotations

import asyncio
import sys

from tests.helpers import OFFICE_PATH
from waitboard.core.webhook_signature import secret_key
from waitboard.core.webhooks import Webhook
from waitboard.metrics import Metrics
from waitboard.services.webhook_deliverer import Deliverer, WebhookTiming
from waitboard.settings import load_office
from waitboard.store.redis import connect
from waitboard.store.webhooks import WebhookStore


def timing(lease_s: float) -> WebhookTiming:
    """A short lease, renewed often; a fast back-off; short reads."""
    return WebhookTiming(
        lease_s=lease_s, renew_s=lease_s / 5, block_ms=100, timeout_s=30, retry_scale=0.02
    )


async def main(redis_url: str, url: str, secret: str, lease_s: float) -> None:
    office = load_office(OFFICE_PATH)
    hook = Webhook(id="crm", url=url, secret_env="UNUSED")
    redis = connect(redis_url)
    deliverer = Deliverer(
        WebhookStore(redis),
        hook,
        secret_key(secret),
        "sued",
        office.tz,
        Metrics(),
        allow_loopback=True,
        timing=timing(lease_s),
    )
    await deliverer.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))
