"""A browser-like test client bound to one host, with CSRF-aware form submission."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class SiteClient:
    def __init__(self, app, host: str, client: FlaskClient | None = None):
        self.app = app
        self.host = host
        self.client = client or app.test_client()

    def _kw(self, kwargs):
        kwargs.setdefault("base_url", f"http://{self.host}")
        return kwargs

    def get(self, path: str, **kwargs):
        return self.client.get(path, **self._kw(kwargs))

    def post(self, path: str, **kwargs):
        return self.client.post(path, **self._kw(kwargs))

    def csrf_token(self, page_path: str) -> str:
        page = self.get(page_path)
        match = CSRF_RE.search(page.get_data(as_text=True))
        assert match, f"no CSRF token on {self.host}{page_path} ({page.status_code})"
        return match.group(1)

    def submit(self, page_path: str, data: dict, action: str | None = None, **kwargs):
        """Load a page with a form, then post `data` with that page's CSRF token."""
        data = dict(data, csrf_token=self.csrf_token(page_path))
        return self.post(action or page_path, data=data, **kwargs)

    def login_store(self, email: str, password: str):
        return self.submit("/admin/login", {"email": email, "password": password})

    def login_platform(self, email: str, password: str):
        return self.submit("/platform/login", {"email": email, "password": password})

    def cookie(self, name: str = "session"):
        return self.client.get_cookie(name, domain=self.host)
