"""What each store staff role may do: the permission matrix and `@requires(permission)`, which
every /admin view declares (a test fails for a view that does not)."""

from __future__ import annotations

from functools import wraps

from flask import request
from flask_login import current_user

from app.auth.guards import login_required_for

ALL_ROLES = frozenset({"owner", "admin", "support", "finance"})
# A platform admin looking in read-only (app/auth/viewer.py): every page that only shows.
VIEWER = "viewer"
MANAGERS = frozenset({"owner", "admin"})

# permission -> roles that have it. Owners have everything; admins everything but the plan's
# billing and moving money out (and managing owners: app/merchant/staff.py); support serves
# customers (orders, manual delivery) but touches no money, prices or settings; finance sees
# orders and money and refunds, but changes no catalog, theme or staff.
PERMISSIONS: dict[str, frozenset[str]] = {
    "view_dashboard": ALL_ROLES,
    "own_account": ALL_ROLES,  # one's own password, two-factor and sessions
    "view_orders": ALL_ROLES,
    "manage_orders": frozenset({"owner", "admin", "support"}),  # cancel unpaid, resend e-mail
    "deliver": frozenset({"owner", "admin", "support"}),
    "refund": frozenset({"owner", "admin", "finance"}),
    "view_catalog": ALL_ROLES,
    "manage_catalog": MANAGERS,
    "manage_settings": MANAGERS,
    "manage_theme": MANAGERS,
    "manage_webhooks": MANAGERS,
    "view_billing": frozenset({"owner", "admin", "finance"}),
    "billing": frozenset({"owner"}),
    "finance_view": frozenset({"owner", "admin", "finance"}),
    "withdraw": frozenset({"owner"}),
    "manage_staff": MANAGERS,
    "view_audit": MANAGERS,
    "manage_domains": MANAGERS,
    "export_orders": frozenset({"owner", "admin", "finance"}),
    "view_tickets": ALL_ROLES,
    "view_customers": ALL_ROLES,
    # A customer's e-mail, phone and top-up accounts in full, on one order's, customer's or
    # ticket's own page (lists and exports always mask them: app/masking.py).
    "view_contacts": frozenset({"owner", "admin", "support"}),
    # Customers' data requests: settle deletion requests, anonymise on an e-mailed request,
    # the store's privacy policy text and retention periods.
    "manage_privacy": MANAGERS,
    "view_coupons": ALL_ROLES,
    "manage_coupons": MANAGERS,
    "manage_customers": frozenset({"owner", "admin", "support"}),  # tags, notes, block
    "adjust_balances": MANAGERS,
    # Batch top-ups for a customer, paid from that customer's balance (everyone who sees
    # orders sees the batches: view_orders).
    "run_batches": MANAGERS,
    "answer_tickets": frozenset({"owner", "admin", "support"}),  # reply, escalate, reject
    "view_risk": MANAGERS,
    "manage_risk": MANAGERS,  # decide held orders, blacklist, limits
    # Growth tools: announcements, posters, campaign assets, recommendations, marketing e-mail.
    "view_marketing": ALL_ROLES,
    "manage_marketing": MANAGERS,
}
# What a platform viewer may look at (never a form that changes something: requires() refuses
# a viewer anything but GET and HEAD whatever the permission).
VIEWER_MAY = (
    "view_dashboard", "view_orders", "view_catalog", "view_billing", "finance_view",
    "view_audit", "view_tickets", "view_customers", "view_coupons", "view_risk",
    "view_marketing",
)  # fmt: skip
for _permission in VIEWER_MAY:
    PERMISSIONS[_permission] = PERMISSIONS[_permission] | {VIEWER}


def is_viewer() -> bool:
    """A platform admin looking in read-only."""
    return current_user.is_authenticated and getattr(current_user, "role", None) == VIEWER


def role_may(role: str | None, permission: str) -> bool:
    return role in PERMISSIONS[permission]


def may(permission: str) -> bool:
    """Whether the signed-in staff member has `permission` (for views and templates)."""
    return (
        current_user.is_authenticated
        and getattr(current_user, "login_kind", None) == "store"
        and role_may(current_user.role, permission)
    )


_signed_in = login_required_for("store", "merchant.login")


def requires(permission: str):
    """The view needs a signed-in staff member of this store with `permission`; others get a
    403 page that says so."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")

    def decorator(view):
        @wraps(view)
        def checked(*args, **kwargs):
            if not may(permission) or (is_viewer() and request.method not in ("GET", "HEAD")):
                return _forbidden()
            return view(*args, **kwargs)

        guarded = _signed_in(checked)
        guarded.required_permission = permission
        return guarded

    return decorator


def _forbidden():
    from app.web.site import render_console
    from app.web.urls import tenant_url
    from tenants.context import current_tenant

    store = current_tenant._get_current_object()
    return render_console(
        "merchant/forbidden.html", store=store, storefront_url=tenant_url(store, "/")
    ), 403
