"""Theme set-up through the real theming services, as the editor would do it."""

from __future__ import annotations

from contextlib import contextmanager

from app.theming import entitlements
from app.theming import services as theming
from tenants.context import tenant_context

PACKS = ("classic", "aurora", "neon")


@contextmanager
def premium_allowed(monkeypatch, allowed: bool = True):
    """Billing decides premium packs; tests state the answer instead of building a plan."""
    monkeypatch.setattr(entitlements, "may_use_premium_themes", lambda store: allowed)
    yield


def publish_look(app, store, pack: str, **values) -> int:
    """Choose `pack`, set `values` (setting id → form value), publish; returns the revision id.
    Premium packs need premium_allowed()."""
    with app.app_context(), tenant_context(store):
        theming.choose_pack(store, pack, author="test")
        if values:
            current = theming.editor_state(store)[1]
            submitted = {**current, **values}
            theming.save_draft(store, theming.Submission(submitted, {}), author="test")
        return theming.publish(store, author="test").id
