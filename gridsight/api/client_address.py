"""The client's address: the TCP peer, or ``X-Forwarded-For`` from a trusted proxy.

The peer is the client unless it is one of the configured ``trusted_proxies`` (IPs or
CIDR blocks): then ``X-Forwarded-For`` is read from the right, skipping trusted hops, and
the first untrusted address is the client. A client that talks to the service directly
cannot choose its address by sending the header.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from starlette.requests import Request

from gridsight.core.errors import ConfigError

if TYPE_CHECKING:
    from gridsight.api.settings import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str], what: str = "trusted_proxies") -> tuple[Network, ...]:
    """IP addresses or CIDR blocks as networks.

    Raises:
        ConfigError: a value that is neither (names the value).
    """
    out: list[Network] = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ConfigError(
                f"{what}: {value!r} is not an IP address or CIDR block (e.g. 10.0.0.0/8)"
            ) from None
    return tuple(out)


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The client's address: the peer, or ``X-Forwarded-For``'s when the peer is trusted.

    Example:
        >>> nets = parse_networks(["10.0.0.0/8"])
        >>> client_address("10.0.0.2", "203.0.113.9, 10.0.0.7", nets)
        '203.0.113.9'
        >>> client_address("198.51.100.4", "203.0.113.9", nets)
        '198.51.100.4'
    """
    address = peer or "-"
    if not forwarded_for or not _trusted(address, trusted):
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # garbage from further out: trust nothing beyond it
        address = hop
        if not _trusted(hop, trusted):
            break
    return address


def request_address(request: Request, settings: Settings) -> str:
    """The client address of a request under the service's ``trusted_proxies``."""
    return client_address(
        request.client.host if request.client else None,
        request.headers.get("x-forwarded-for"),
        _networks(tuple(settings.trusted_proxies)),
    )


@lru_cache(maxsize=8)
def _networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(values)
