"""Store staff jobs: the invitation e-mail (bound to the inviting store)."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale, gettext

from app.extensions import db
from app.mail.services import send_template
from app.merchant.models import ROLE_LABELS, StaffInvitation
from app.merchant.staff import INVITATION_DAYS, invitation_token
from app.web.urls import tenant_url
from tenants.context import require_tenant


def send_staff_invitation(invitation_id: int) -> bool:
    """E-mail the invitation link; nothing if the invitation was revoked or used meanwhile."""
    store = require_tenant()
    invitation = db.session.get(StaffInvitation, invitation_id)
    if invitation is None or invitation.accepted_at or invitation.revoked_at:
        return False
    token = invitation_token(store, invitation)
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        send_template(
            invitation.email,
            gettext("You are invited to the staff of %(store)s", store=store.name),
            "staff_invitation",
            store=store,
            role=gettext(ROLE_LABELS[invitation.role]),
            invited_by=invitation.invited_by,
            url=tenant_url(store, f"/admin/invitations/{token}"),
            days=INVITATION_DAYS,
        )
    return True
