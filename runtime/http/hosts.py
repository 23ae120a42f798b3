"""Is a URL safe for a connector to call? Only http(s), and only public hosts.

Why a module of its own: the check runs before any client exists (the CLI refuses a private
`--base-url` once, up front) as well as inside `make_client`, and it is plain address
reasoning (scheme, IP flags, DNS) with no retries or auth involved.

A name checked once can resolve elsewhere later (DNS rebinding: public when checked, a private
address when connected to). So clients that may not reach private hosts also check at connect
time, on the very addresses they connect to (`checked_transport`).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import urllib.request

import httpcore
import httpx

from runtime.errors import UserError

DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsafeHostError(UserError, ValueError):
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
        addresses = (
            [host]
            if _is_ip(host)
            else _resolve(host, parsed.port or DEFAULT_PORTS[parsed.scheme])
        )
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
                " (a local or self-hosted API needs allow_private_hosts: --allow-private-hosts)"
            )
    return parsed


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return list(
        dict.fromkeys(info[4][0] for info in infos)
    )  # the resolver's order: connects try it


class CheckedConnects(httpcore.NetworkBackend):
    """Connects only to public addresses: resolves the host itself, refuses the connection if
    any address it resolves to is not public, and connects to the addresses it checked. TLS
    still verifies the certificate against the host name (httpcore passes it as SNI)."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self, host, port, timeout=None, local_address=None, socket_options=None
    ):
        try:
            addresses = [host] if _is_ip(host) else _resolve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"{host}: {exc.strerror or exc}") from None
        for address in addresses:
            reason = _unsafe_reason(address)
            if reason:
                raise UnsafeHostError(
                    f"host {host!r} resolved to {address}, a {reason} address, when connecting; refusing it"
                )
        error: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                error = exc
        raise error or httpcore.ConnectError(f"{host}: no address")

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise UnsafeHostError("unix sockets are not an API host")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def checked_transport(ssl_context: ssl.SSLContext) -> httpx.HTTPTransport | None:
    """An httpx transport whose connections go through `CheckedConnects`; None when a proxy is
    configured in the environment (the proxy resolves names, so there is nothing to check here
    and httpx's own proxy handling is kept)."""
    if urllib.request.getproxies():
        return None
    transport = httpx.HTTPTransport(verify=ssl_context)
    limits = httpx.Limits()  # httpx's defaults, as HTTPTransport uses them
    # httpx has no public hook for the network backend; its pool is rebuilt with one
    # (tests/runtime/test_http.py proves the check runs, so an httpx change cannot hide it).
    transport._pool = httpcore.ConnectionPool(  # noqa: SLF001
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=CheckedConnects(),
    )
    return transport
