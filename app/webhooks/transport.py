"""Sending one webhook request safely: check the URL, resolve its host once, refuse internal
addresses, connect to the very address that was checked, and never follow a redirect.

Connecting to the checked address (not to the host name, which would be resolved again by the
HTTP library) is what defeats DNS rebinding: the `Host` header carries the name, and for HTTPS the
TLS handshake sends it as SNI and the certificate is verified against it.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import idna
import urllib3

from app.i18n import N_

MAX_URL_LENGTH = 500
RESPONSE_EXCERPT_BYTES = 2048
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 10
TOTAL_TIMEOUT_SECONDS = 15
USER_AGENT = "Kameng-Webhooks/1"
MAX_ADDRESSES_TRIED = 3

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class TargetError(ValueError):
    """The URL cannot or may not be called; `message` is a message id for the owner."""

    def __init__(self, message: str, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, without brackets
    port: int
    path: str  # path and query, as sent in the request line
    addresses: tuple[IPAddress, ...]  # what the host resolved to, every one of them checked

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True)
class Answer:
    status_code: int
    excerpt: str  # the first 2 KB of the body
    retry_after_seconds: int | None


def is_public_address(address: IPAddress) -> bool:
    """Whether webhooks may connect here: a global unicast address, also when an IPv4 address is
    embedded in IPv6 (mapped, 6to4, NAT64)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and not is_public_address(embedded):
            return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def parse_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, ASCII host, port, path+query) of an http(s) URL, or TargetError."""
    url = (url or "").strip()
    if not url:
        raise TargetError(N_("Enter the URL that receives the events."))
    if len(url) > MAX_URL_LENGTH:
        raise TargetError(N_("Keep the URL under %(max)s characters."), max=MAX_URL_LENGTH)
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise TargetError(N_("The URL cannot contain spaces."))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetError(N_("This is not a valid URL.")) from None
    if parts.scheme not in ("http", "https"):
        raise TargetError(N_("The URL must start with https:// or http://."))
    if not parts.hostname:
        raise TargetError(N_("This is not a valid URL."))
    if parts.username is not None or parts.password is not None:
        raise TargetError(N_("Leave user names and passwords out of the URL."))
    host = parts.hostname
    try:
        ipaddress.ip_address(host)
    except ValueError:
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError:
            raise TargetError(N_("This is not a valid URL.")) from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


def _addresses(host: str, port: int) -> tuple[IPAddress, ...]:
    try:
        return (ipaddress.ip_address(host),)
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        found = []
    # dict.fromkeys: unique, in the resolver's order; "%scope" suffixes of IPv6 link-local go.
    addresses = tuple(dict.fromkeys(ipaddress.ip_address(f[4][0].split("%")[0]) for f in found))
    if not addresses:
        raise TargetError(N_("The host %(host)s could not be found."), host=host)
    return addresses


def resolve(url: str, *, allow_private: bool) -> Target:
    """Check `url` and resolve its host; every address must be public unless `allow_private`."""
    scheme, host, port, path = parse_url(url)
    addresses = _addresses(host, port)
    if not allow_private:
        for address in addresses:
            if not is_public_address(address):
                raise TargetError(
                    N_(
                        "%(host)s points to %(address)s, a private, loopback or reserved "
                        "address. Webhooks only go to public addresses."
                    ),
                    host=host,
                    address=str(address),
                )
    return Target(scheme, host, port, path, addresses)


class SendError(RuntimeError):
    """No HTTP answer: connection refused or reset, timeout, TLS failure."""


def post(target: Target, headers: dict[str, str], body: bytes, *, ca_certs: str | None = None):
    """POST `body` to the checked addresses in turn (the next only if connecting fails); returns
    the first HTTP answer, whatever its status. Redirects are answers, never followed."""
    headers = {
        **headers,
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    timeout = urllib3.Timeout(
        total=TOTAL_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS, read=READ_TIMEOUT_SECONDS
    )
    last_error = "no address to connect to"
    for address in target.addresses[:MAX_ADDRESSES_TRIED]:
        options = {"host": str(address), "port": target.port, "timeout": timeout, "retries": False}
        if target.scheme == "https":
            pool_class = urllib3.HTTPSConnectionPool
            options.update(
                server_hostname=target.host,  # SNI: the name, not the address
                assert_hostname=target.host,  # the certificate must be for the name
                cert_reqs="CERT_REQUIRED",
                ca_certs=ca_certs or certifi.where(),
            )
        else:
            pool_class = urllib3.HTTPConnectionPool
        try:
            with pool_class(**options) as pool:
                response = pool.urlopen(
                    "POST", target.path, body=body, headers=headers, redirect=False,
                    assert_same_host=False, preload_content=False, retries=False,
                )  # fmt: skip
                try:
                    excerpt = response.read(RESPONSE_EXCERPT_BYTES, decode_content=False)
                finally:
                    response.close()
                return Answer(
                    response.status,
                    excerpt.decode("utf-8", errors="replace"),
                    _retry_after(response.headers.get("Retry-After")),
                )
        except urllib3.exceptions.ConnectTimeoutError as error:  # also NewConnectionError
            last_error = _describe(error)
            continue  # try the next address of the host
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise SendError(_describe(error)) from None
    raise SendError(last_error)


def _retry_after(value: str | None) -> int | None:
    if value and value.strip().isdecimal():
        return int(value.strip())
    return None


def _describe(error: Exception) -> str:
    reason = getattr(error, "reason", None) or error
    return f"{type(error).__name__}: {reason}"[:500]
