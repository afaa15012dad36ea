"""The VAPID key pair that signs waitboard's push messages (RFC 8292), with py-vapid.

The public key is what a browser subscribes with (``applicationServerKey``); a push service
accepts messages for that subscription only when they are signed by the matching private
key. So the key must stay the same across restarts and server processes: in production it
comes from a file (``WAITBOARD_VAPID_PRIVATE_KEY_FILE``); in development it is generated
once into the data directory (readable by its owner only) and reused.

A signature is a short JWT: ``aud`` the push service's origin, ``exp`` at most 24 hours
ahead (12 here), ``sub`` whom to contact. Neither the JWT nor the key is ever logged.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02, VapidException
from py_vapid.utils import b64urlencode

#: The signature's lifetime (RFC 8292 allows at most 24 hours).
JWT_LIFETIME_S = 12 * 3600
#: The file a development key is kept in, inside the data directory.
DEV_KEY_FILE = "vapid_private_key.pem"


def check_contact(contact: str) -> None:
    """ValueError when ``contact`` is not what py-vapid signs as the JWT's ``sub`` (a
    mailto: address or a bare https:// origin): else every message would fail."""
    probe = Vapid02()
    probe.generate_keys()  # (a throwaway key: only the claims are checked)
    try:
        probe.sign({"aud": "https://push.example", "exp": 1, "sub": contact})
    except VapidException:
        raise ValueError(
            f"{contact!r} is not a contact push services accept: use mailto:name@domain "
            "or https://host (no path, no port)"
        ) from None


class PushKeys:
    def __init__(self, vapid: Vapid02, contact: str) -> None:
        check_contact(contact)
        self._vapid = vapid
        self.contact = contact
        raw = vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        #: The application server key, base64url without padding (65 bytes, uncompressed).
        self.public_key: str = b64urlencode(raw)

    @classmethod
    def load(cls, key_file: Path | None, data_dir: Path, contact: str) -> PushKeys:
        """From ``key_file`` (PEM); without one, the development key in ``data_dir``,
        generated on first use."""
        if key_file is not None:
            return cls(Vapid02.from_pem(key_file.read_bytes()), contact)
        path = data_dir / DEV_KEY_FILE
        if not path.exists():
            vapid = Vapid02()
            vapid.generate_keys()
            data_dir.mkdir(parents=True, exist_ok=True)
            # Written aside, then linked into place: two processes starting at once never
            # read a half-written file, and the first key wins.
            fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".vapid-")
            try:
                with os.fdopen(fd, "wb") as f:  # (mkstemp: readable by its owner only)
                    f.write(vapid.private_pem())
                with contextlib.suppress(FileExistsError):
                    os.link(tmp, path)
            finally:
                os.unlink(tmp)
        return cls(Vapid02.from_pem(path.read_bytes()), contact)

    def authorization(self, endpoint: str, now_s: float | None = None) -> str:
        """The ``Authorization: vapid t=..., k=...`` header for one push to ``endpoint``."""
        parts = urlsplit(endpoint)
        claims = {
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int((time.time() if now_s is None else now_s) + JWT_LIFETIME_S),
            "sub": self.contact,
        }
        return str(self._vapid.sign(claims)["Authorization"])
