"""A browser-like HTTPS client for host names that resolve nowhere (a.kameng.test): every
connection goes to 127.0.0.1, while SNI, certificate checks and `Host` use the real name
(`curl --resolve`, in requests). Cookies are kept per host; forms are posted with their CSRF
token and a same-origin Referer, as a browser does (Flask-WTF checks it on HTTPS)."""

from __future__ import annotations

import re
import socket
import ssl
import time

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util import connection as urllib3_connection

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
RETRYABLE_STATUS = {502, 503, 504}


def _loopback(self) -> socket.socket:
    return urllib3_connection.create_connection(
        ("127.0.0.1", self.port),
        self.timeout,
        source_address=self.source_address,
        socket_options=self.socket_options,
    )


class _HTTPConnection(HTTPConnection):
    _new_conn = _loopback


class _HTTPSConnection(HTTPSConnection):
    _new_conn = _loopback


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class LoopbackAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


class Unavailable(Exception):
    """The site did not answer within the retries (every web process down?)."""


class Browser:
    """One buyer: a cookie jar across hosts, retrying what a dead web process interrupted."""

    def __init__(self, root_ca: str, *, retries: int = 10, timeout: float = 20.0):
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies from the environment
        self.session.verify = root_ca
        adapter = LoopbackAdapter()
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.retries, self.timeout = retries, timeout
        self.retried = 0  # requests that failed in flight and were sent again

    def request(self, method: str, url: str, *, retry: bool = True, **kwargs) -> requests.Response:
        """One request; a connection error or a gateway error is retried (only if `retry`)."""
        kwargs.setdefault("allow_redirects", False)
        kwargs.setdefault("timeout", self.timeout)
        for attempt in range(self.retries):
            try:
                response = self.session.request(method, url, **kwargs)
            except requests.ConnectionError:
                if not retry:
                    raise
            else:
                if response.status_code not in RETRYABLE_STATUS or not retry:
                    return response
            self.retried += 1
            time.sleep(0.3 * (attempt + 1))
        raise Unavailable(f"{method} {url}: no answer after {self.retries} attempts")

    def get(self, url: str, **kwargs) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def submit(self, page_url: str, data: dict, action_url: str | None = None) -> requests.Response:
        """Load the page with the form, post `data` with its CSRF token. A failed post is NOT
        retried here: the caller decides whether sending it again is safe."""
        for attempt in range(self.retries):
            page = self.get(page_url)
            match = CSRF_RE.search(page.text)
            if match is not None or page.text.strip():
                break
            # An empty answer: the web process was killed while it streamed the page (the
            # proxy had sent the status line already). Loading a page again is safe.
            self.retried += 1
            time.sleep(0.3 * (attempt + 1))
        if match is None:
            raise AssertionError(
                f"no CSRF token on {page_url} ({page.status_code}): {page.text[:300]}"
            )
        return self.request(
            "POST",
            action_url or page_url,
            data=dict(data, csrf_token=match.group(1)),
            headers={"Referer": page_url},
            retry=False,
        )


def tls_handshake_fails(port: int, host: str, root_ca: str) -> bool:
    """Whether a TLS connection for `host` to 127.0.0.1:port is refused a certificate."""
    context = ssl.create_default_context(cafile=root_ca)
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            return False
    except ssl.SSLError:
        return True
