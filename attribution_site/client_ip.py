"""The visitor's IP address, worked out the same way by every endpoint that stores one.

Behind a load balancer REMOTE_ADDR is the balancer. Each proxy appends the address it received
the request from to X-Forwarded-For, so with NUM_PROXIES=n trusted proxies in front, the n-th
address from the right is the one the outermost of them saw: the visitor. Addresses further left
were sent by the client and can be forged, so they are never read. This is DRF's reading of
NUM_PROXIES too (`BaseThrottle.get_ident`), except that a header with fewer entries than proxies
means the request did not come through them, so REMOTE_ADDR is the visitor.
"""

from __future__ import annotations

import ipaddress
import re

from django.conf import settings
from django.http import HttpRequest
from rest_framework.request import Request

# "203.0.113.7:51234" and "[2001:db8::1]:443": some balancers append the client's port.
_WITH_PORT = re.compile(r"\[(?P<v6>[^\]]+)\](?::\d{1,5})?|(?P<v4>[\d.]+):\d{1,5}")


def get_client_ip(request: HttpRequest | Request) -> str | None:
    """The visitor's address, normalised, or None when what arrived is not an IP address.

    None rather than REMOTE_ADDR for a garbled trusted entry: storing the balancer's address
    would match every visitor to every other by IP."""
    num_proxies = settings.NUM_PROXIES
    if num_proxies > 0:
        header = request.META.get("HTTP_X_FORWARDED_FOR", "")
        forwarded = [part.strip() for part in header.split(",")] if header.strip() else []
        if len(forwarded) >= num_proxies:
            return parse_ip(forwarded[-num_proxies])
    return parse_ip(request.META.get("REMOTE_ADDR", ""))


def parse_ip(text: str) -> str | None:
    """An IPv4 or IPv6 address in its canonical form, or None. IPv6 zone ids are refused
    (they mean nothing outside the host that wrote them)."""
    match = _WITH_PORT.fullmatch(text)
    if match:
        text = match.group("v6") or match.group("v4")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        return None
    return str(address)
