"""Role gates for views (a user of the wrong role gets 404, like an outsider), and the client's address."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

from portal.proxies import IPAddress, IPNetwork, parse_trusted_proxies


@lru_cache(maxsize=8)
def _trusted_networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return parse_trusted_proxies(entries)


def _address(text: str) -> IPAddress | None:
    """One hop of X-Forwarded-For or REMOTE_ADDR as an address; ``None`` if it is not one.

    IPv4-mapped IPv6 (``::ffff:192.0.2.1``) is read as the IPv4 address it carries, so
    a dual-stack socket and an IPv4 proxy name the same client the same way.
    """
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:443"
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_ip(request: HttpRequest) -> str | None:
    """The address of the client behind ``request``, as a string; ``None`` if unknown.

    The one source of the client address: rate limits, django-axes
    (``AXES_CLIENT_IP_CALLABLE``) and the audit trail all call it.
    ``X-Forwarded-For`` is read only when the direct peer (``REMOTE_ADDR``) is in
    ``settings.PLINTH_TRUSTED_PROXIES``; then the chain is walked from the right,
    past every trusted proxy, and the first untrusted hop is the client (hops to its
    left were written by the client and may be forged). With no trusted proxy, or
    from an untrusted peer, the header is ignored, so it cannot be spoofed.
    """
    peer = _address(request.META.get("REMOTE_ADDR") or "")
    if peer is None:
        return None
    trusted = _trusted_networks(tuple(settings.PLINTH_TRUSTED_PROXIES))

    def is_trusted(address: IPAddress) -> bool:
        return any(address in network for network in trusted)

    if not trusted or not is_trusted(peer):
        return str(peer)
    client = peer
    # Several X-Forwarded-For headers arrive joined by commas, in order.
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        if not hop.strip():
            continue
        address = _address(hop)
        if address is None:
            # A trusted proxy passed on something that is not an address: nothing to
            # its left can be believed, so the last proxy that was believed stands.
            break
        client = address
        if not is_trusted(address):
            break
    return str(client)
