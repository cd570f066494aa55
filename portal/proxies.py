"""Trusted proxy networks, parsed without Django so that settings can validate them."""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted_proxies(entries: list[str] | tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """``["10.0.0.5", "172.16.0.0/12", "::1"]`` as networks (a bare address is a /32 or /128).

    Raises ValueError naming the entry that is neither an address nor a CIDR network.
    """
    networks: list[IPNetwork] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"{entry!r} is not an IP address or CIDR network") from exc
    return tuple(networks)
