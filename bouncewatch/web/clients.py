"""Who is on the other end of a request: the peer, or the client a trusted reverse proxy names.

`[http] trusted_proxies` lists the proxies (addresses or networks) whose word is taken: their
`X-Forwarded-For` names the client (the right-most address that is not itself a trusted
proxy) and their `X-Forwarded-Proto: https` says the browser used TLS. From anyone else these
headers are ignored, so a client cannot name itself or claim TLS.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(text: str | None) -> Address | None:
    if not text:
        return None
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def proxy_trusted(settings: Settings, remote_addr: str | None) -> bool:
    """True when the peer is one of `trusted_proxies`."""
    peer = parse_address(remote_addr)
    if peer is None:
        return False
    return any(peer in ipaddress.ip_network(net, strict=False) for net in settings.http.trusted_proxies)


def client_address(settings: Settings, remote_addr: str | None, forwarded_for: str | None) -> str:
    """The client's address: the peer's, or, from a trusted proxy, the right-most address of
    X-Forwarded-For that is not a trusted proxy itself ("" when nothing is known)."""
    if forwarded_for and proxy_trusted(settings, remote_addr):
        for hop in reversed(forwarded_for.split(",")):
            address = parse_address(hop)
            if address is None:
                break
            if not proxy_trusted(settings, str(address)):
                return str(address)
    return remote_addr or ""


def is_loopback_client(settings: Settings, remote_addr: str | None, forwarded_for: str | None) -> bool:
    address = parse_address(client_address(settings, remote_addr, forwarded_for))
    return address is not None and address.is_loopback


def forwarded_https(settings: Settings, remote_addr: str | None, forwarded_proto: str | None) -> bool:
    """True when a trusted proxy says the browser's request came over https."""
    if not forwarded_proto or not proxy_trusted(settings, remote_addr):
        return False
    return forwarded_proto.split(",")[0].strip().lower() == "https"


def throttle_key(address: str) -> str:
    """The unit a sign-in throttle counts: the address, or its /64 for IPv6 (one host's share)."""
    parsed = parse_address(address)
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed.ipv4_mapped if isinstance(parsed, ipaddress.IPv6Address) else parsed or address)
