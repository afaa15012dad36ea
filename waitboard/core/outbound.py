"""Where waitboard may send a request that a stranger addressed: the rules, without I/O.

A browser's push subscription names an address (its endpoint) that waitboard will later
POST to; so may an operator's webhook. An address like that could point the server at
itself or at the office's network (Redis on the loopback, the cloud's metadata service, a
printer), so it is only accepted when it is ``https`` and every address its host resolves
to is public. :meth:`OutboundPolicy.check_url` judges the URL before any DNS;
:meth:`OutboundPolicy.check_addresses` judges what the host resolved to - at subscribe time
and again before each request, which then goes to the address checked
(:mod:`waitboard.services.outbound`).

A refusal never repeats the address: an endpoint is a capability and stays out of logs and
answers alike.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from waitboard.core.errors import Unavailable, Unprocessable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"https": 443, "http": 80}

# Beyond what ``is_global`` says: the cloud metadata services (also link-local or unique
# local, named here so that no future change of the standard library lets them through),
# the local-use NAT64 prefix.
_NEVER = tuple(
    ipaddress.ip_network(n)
    for n in ("169.254.169.254/32", "fd00:ec2::254/128", "100.100.100.200/32", "64:ff9b:1::/48")
)
# IPv6 prefixes that carry an IPv4 address in their last 32 bits: judged by that address.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOOPBACK_LITERALS = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


class OutboundRefused(Unprocessable):
    """An address waitboard will not send to. ``reason`` says why in a few words, never
    repeating the address."""

    code = "outbound_refused"
    title = "Address not allowed"

    def __init__(self, reason: str, label: str = "push endpoint") -> None:
        super().__init__(f"The {label} must be a public https address ({reason}).")
        self.reason = reason


class OutboundFailed(Unavailable):
    """The request was allowed but did not get an answer (no name, no connection, TLS)."""

    code = "outbound_failed"
    title = "The receiving service did not answer"


class OutboundTimeout(OutboundFailed):
    """The receiving service took longer than the request's time allows."""

    code = "outbound_timeout"


@dataclass(frozen=True, slots=True)
class Target:
    """A URL that passed :meth:`OutboundPolicy.check_url`, in the parts a request needs."""

    scheme: str
    host: str  # a lower-case ASCII name, or an IP address without brackets
    port: int
    path: str  # path and query, at least "/"; the fragment dropped
    literal: IPAddress | None  # the host, when it is an IP address

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    def url_at(self, address: IPAddress) -> str:
        """The URL with its host replaced by ``address``: the request goes to that address,
        with the name in the Host header and in TLS (SNI and the certificate check)."""
        host = f"[{address}]" if address.version == 6 else str(address)
        return f"{self.scheme}://{host}:{self.port}{self.path}"


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    """What one kind of outbound request may reach.

    ``allow_loopback`` (tests, a developer's machine; refused in production) also accepts
    the literal hosts ``127.0.0.1`` and ``[::1]``, over http or https - never a name that
    resolves to them. ``allow_private`` (webhooks to the office's own systems, by the
    operator's choice) accepts private and unique-local addresses; the loopback, link-local,
    metadata and unspecified addresses stay refused.
    """

    allow_loopback: bool = False
    allow_private: bool = False
    label: str = "push endpoint"

    def refuse(self, reason: str) -> OutboundRefused:
        return OutboundRefused(reason, self.label)

    def check_url(self, url: str) -> Target:
        """The URL's parts, or :class:`OutboundRefused` - before any DNS."""
        parts, port = self._split(url)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise self.refuse("it names no host")
        literal = _ip_literal(host)
        loopback = self.allow_loopback and literal in _LOOPBACK_LITERALS
        if scheme != "https" and not (scheme == "http" and loopback):
            raise self.refuse("it must use https")
        if literal is None:
            _check_name(self, host)
        target = Target(
            scheme=scheme,
            host=str(literal) if literal is not None else host,
            port=port or DEFAULT_PORTS[scheme],
            path=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
            literal=literal,
        )
        if literal is not None:
            self.check_addresses(target, [literal])
        return target

    def _split(self, url: str) -> tuple[SplitResult, int | None]:
        """The URL in parts and its port: short, printable ASCII, no user name."""
        if len(url) > MAX_URL_LENGTH:
            raise self.refuse(f"it is longer than {MAX_URL_LENGTH} characters")
        if not url.isascii() or not url.isprintable() or any(c in url for c in " \\"):
            raise self.refuse("it contains spaces, control or non-ASCII characters")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise self.refuse("it is not a valid URL") from None
        if "@" in parts.netloc:
            raise self.refuse("it must not carry a user name or password")
        if port == 0:
            raise self.refuse("port 0 is not a port")
        return parts, port

    def check_addresses(self, target: Target, addresses: Iterable[IPAddress]) -> None:
        """Nothing, when every address the target's host resolved to may be reached (and
        there is one at least); else :class:`OutboundRefused`."""
        found = list(addresses)
        if not found:
            raise self.refuse("its host resolves to no address")
        for address in found:
            if target.literal is not None and address != target.literal:
                raise self.refuse("its address changed")
            if self.allow_loopback and target.literal in _LOOPBACK_LITERALS:
                continue
            why = self.why_not(address)
            if why:
                raise self.refuse(why)

    def why_not(self, address: IPAddress) -> str | None:
        """Why this one address may not be reached, or None."""
        inner = _embedded_ipv4(address)
        if inner is not None:
            return self.why_not(inner)
        if any(address in net for net in _NEVER if net.version == address.version):
            return "it is a cloud metadata or local translation address"
        if address.is_loopback or address.is_unspecified:
            return "it is this machine's own address"
        if address.is_link_local:
            return "it is a link-local address"
        if address.is_multicast or address.is_reserved:
            return "it is a multicast or reserved address"
        if address.is_global:
            return None
        if self.allow_private and address.is_private:
            return None
        return "it is a private or otherwise non-public address"


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped (``::ffff:a.b.c.d``), IPv4-compatible,
    NAT64 (``64:ff9b::/96``) or 6to4 (``2002::/16``) address; Teredo is never global."""
    if address.version == 4:
        return None
    assert isinstance(address, ipaddress.IPv6Address)
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    packed = address.packed
    if address in _NAT64 or (packed[:12] == bytes(12) and int(address) > 0xFFFF):
        return ipaddress.IPv4Address(packed[12:])
    return None


def _check_name(policy: OutboundPolicy, host: str) -> None:
    """A DNS name of letters, digits and hyphens; not ``localhost`` (RFC 6761) nor a name
    that numeric parsers read as an IPv4 address (``2130706433``, ``0x7f.1``)."""
    labels = host.split(".")
    if len(host) > 253 or any(
        not 0 < len(label) <= 63 or not set(label) <= _LABEL_CHARS for label in labels
    ):
        raise policy.refuse("its host is not a valid name")
    if labels[-1] == "localhost":
        raise policy.refuse("it is this machine's own address")
    last = labels[-1]
    if last.isdigit() or (last.startswith("0x") and all(c in "0123456789abcdef" for c in last[2:])):
        raise policy.refuse("its host is neither a name nor an IP address")
