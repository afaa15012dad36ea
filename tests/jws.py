"""JSON Web Keys and compact JWS for the tests (RS256 and ES256, with ``cryptography``): keys
to sign ID tokens a provider never issued, and a check of a token's signature against a JWK
Set. Enough to sign and check; it is not what waitboard verifies tokens with."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)


class BadToken(Exception):
    """A token that is not a JWS signed by any of the keys it was checked against."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))


def _num(jwk: Mapping[str, Any], name: str) -> int:
    return int.from_bytes(b64url_decode(jwk[name]), "big")


def new_signing_key(kty: str = "RSA", kid: str | None = None) -> dict[str, Any]:
    """A new private JWK: RSA 2048 (RS256) or EC P-256 (ES256), with a ``kid``."""
    kid = kid or secrets.token_hex(8)
    if kty == "RSA":
        priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        n = priv.private_numbers()
        return {
            "kty": "RSA",
            "kid": kid,
            "alg": "RS256",
            "n": _int(n.public_numbers.n),
            "e": _int(n.public_numbers.e),
            "d": _int(n.d),
            "p": _int(n.p),
            "q": _int(n.q),
            "dp": _int(n.dmp1),
            "dq": _int(n.dmq1),
            "qi": _int(n.iqmp),
        }
    if kty == "EC":
        key = ec.generate_private_key(ec.SECP256R1()).private_numbers()

        def coordinate(v: int) -> str:
            return b64url(v.to_bytes(32, "big"))

        return {
            "kty": "EC",
            "kid": kid,
            "alg": "ES256",
            "crv": "P-256",
            "x": coordinate(key.public_numbers.x),
            "y": coordinate(key.public_numbers.y),
            "d": coordinate(key.private_value),
        }
    raise ValueError(f"kty RSA or EC, not {kty!r}")


def public_jwk(jwk: Mapping[str, Any]) -> dict[str, Any]:
    """The public half of a JWK."""
    private = {"d", "p", "q", "dp", "dq", "qi", "oth"}
    return {k: v for k, v in jwk.items() if k not in private}


def sign_jwt(
    claims: Mapping[str, Any], jwk: Mapping[str, Any], header: Mapping[str, Any] | None = None
) -> str:
    """A compact JWS of ``claims`` signed with the private ``jwk`` (RS256 or ES256)."""
    alg = "ES256" if jwk["kty"] == "EC" else "RS256"
    head = {"alg": alg, "typ": "JWT", **({"kid": jwk["kid"]} if "kid" in jwk else {})}
    head.update(header or {})
    signing_input = (
        b64url(json.dumps(head, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(dict(claims), separators=(",", ":")).encode())
    ).encode("ascii")
    if jwk["kty"] == "EC":
        ec_key = ec.EllipticCurvePrivateNumbers(
            _num(jwk, "d"),
            ec.EllipticCurvePublicNumbers(_num(jwk, "x"), _num(jwk, "y"), ec.SECP256R1()),
        ).private_key()
        r, s = decode_dss_signature(ec_key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        public = rsa.RSAPublicNumbers(_num(jwk, "e"), _num(jwk, "n"))
        rsa_key = rsa.RSAPrivateNumbers(
            _num(jwk, "p"),
            _num(jwk, "q"),
            _num(jwk, "d"),
            _num(jwk, "dp"),
            _num(jwk, "dq"),
            _num(jwk, "qi"),
            public,
        ).private_key()
        signature = rsa_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return signing_input.decode("ascii") + "." + b64url(signature)


def _verifies(jwk: Mapping[str, Any], alg: str, signing_input: bytes, signature: bytes) -> bool:
    try:
        if alg == "RS256" and jwk["kty"] == "RSA":
            key = rsa.RSAPublicNumbers(_num(jwk, "e"), _num(jwk, "n")).public_key()
            key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
            return True
        if alg == "ES256" and jwk["kty"] == "EC" and len(signature) == 64:
            point = ec.EllipticCurvePublicNumbers(_num(jwk, "x"), _num(jwk, "y"), ec.SECP256R1())
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            point.public_key().verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
            return True
    except InvalidSignature:
        return False
    return False


def verify_jwt(token: str, jwks: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of ``token`` if one key of the JWK Set ``jwks`` (the key its
    ``kid`` names, if it names one) signed it; :class:`BadToken` otherwise. The claims are
    not checked: that is what the tests do."""
    try:
        head_b64, claims_b64, sig_b64 = token.split(".")
        header = json.loads(b64url_decode(head_b64))
        claims = json.loads(b64url_decode(claims_b64))
        signature = b64url_decode(sig_b64)
    except ValueError as e:
        raise BadToken(f"not a compact JWS: {e}") from e
    keys = [k for k in jwks["keys"] if "kid" not in header or k.get("kid") == header["kid"]]
    signing_input = f"{head_b64}.{claims_b64}".encode("ascii")
    if not any(_verifies(k, header.get("alg", ""), signing_input, signature) for k in keys):
        raise BadToken(f"no key of the set verifies it (alg {header.get('alg')!r})")
    return header, claims


def pkce_pair() -> tuple[str, str]:
    """A PKCE code_verifier and its S256 code_challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    return verifier, b64url(hashlib.sha256(verifier.encode("ascii")).digest())
