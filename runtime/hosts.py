"""Is a URL safe for a connector to call? Only http(s), and only public hosts.

Why a module of its own: the check runs before any client exists (the CLI refuses a private
`--base-url` once, up front) as well as inside `make_client`, and it is plain address
reasoning (scheme, IP flags, DNS) with no retries or auth involved.
"""

from __future__ import annotations

import ipaddress
import socket

import httpx

DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsafeHostError(ValueError):
    """The URL points somewhere a connector must not go (private address, other host, bad scheme)."""


# Most specific first: Python also calls loopback, link-local and 0.0.0.0 "private".
_UNSAFE_FLAGS = (
    "loopback",
    "link_local",
    "multicast",
    "unspecified",
    "reserved",
    "private",
)


def _unsafe_reason(address: str) -> str | None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for flag in _UNSAFE_FLAGS:
        if getattr(ip, f"is_{flag}"):
            return flag.replace("_", "-")
    if not ip.is_global:
        return "not global"
    return None


def check_url(url: str, *, allow_private_hosts: bool = False) -> httpx.URL:
    """Refuse URLs that are not http(s) or whose host is (or resolves to) a non-public address.

    Resolving guards against names that point inside the network (`metadata.internal`,
    `localhost`); `allow_private_hosts` is for tests and self-hosted APIs.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UnsafeHostError(f"base URL {url!r} is not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise UnsafeHostError(f"base URL {url!r}: scheme must be http or https")
    host = parsed.host
    if not host:
        raise UnsafeHostError(f"base URL {url!r} has no host")
    if allow_private_hosts:
        return parsed
    try:
        addresses = [host] if _is_ip(host) else _resolve(host, parsed)
    except OSError as exc:
        raise UnsafeHostError(
            f"host {host!r} could not be resolved ({exc.strerror or exc})"
        ) from None
    for address in addresses:
        reason = _unsafe_reason(address)
        if reason:
            what = "is" if address == host else f"resolves to {address},"
            article = "an" if reason[0] in "aeiou" else "a"
            raise UnsafeHostError(
                f"host {host!r} {what} {article} {reason} address; refusing it"
                " (pass allow_private_hosts=True for a self-hosted API)"
            )
    return parsed


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _resolve(host: str, url: httpx.URL) -> list[str]:
    port = url.port or DEFAULT_PORTS[url.scheme]
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return sorted({info[4][0] for info in infos})
