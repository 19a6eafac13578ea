"""Marketing e-mail: only to customers who opted in; one-click unsubscribe; sent in batches by
jobs, at most MARKETING_EMAIL_PER_MINUTE per store and the plan's `marketing_email_daily` per
store and day (the platform's time zone).

Starting a campaign snapshots its recipients (opted-in, active, not blocked) and puts the
campaign in `shared.campaign_queue`; a periodic driver enqueues one batch job per due campaign.
A batch locks the store's marketing row (so two campaigns of one store share the daily cap),
marks each recipient sent and commits *before* handing the message over, so a retried job never
sends twice (a message that fails is put back in the queue). Whoever opted out or was blocked
since the start is skipped. The campaign leaves the queue when no recipient is left.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_babel import force_locale
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, func, select

from app.audit.services import Actor, record
from app.customers.models import Customer
from app.db import utcnow
from app.extensions import db
from app.growth.models import CampaignQueue, CampaignRecipient, MarketingCampaign, MarketingSettings
from app.i18n import N_
from app.web.urls import tenant_url
from tenants.context import TenantRef

DEFAULT_PER_MINUTE = 60
DRIVE_EVERY_SECONDS = 60


class MailingError(ValueError):
    def __init__(self, field: str, message: str, **params):
        super().__init__(message)
        self.field = field
        self.message = message
        self.params = params


# -- consent -------------------------------------------------------------------------------------


def set_opt_in(store: TenantRef, customer: Customer, wanted: bool, *, actor: Actor) -> bool:
    """Record the customer's yes or no to marketing e-mail (caller commits). True if changed."""
    if bool(customer.marketing_opt_in) == bool(wanted):
        return False
    customer.marketing_opt_in = bool(wanted)
    customer.marketing_opt_in_at = utcnow() if wanted else None
    record(
        "customer.marketing_opt_in" if wanted else "customer.marketing_opt_out",
        actor=actor,
        tenant_id=store.id,
        target=f"customer:{customer.id}",
    )
    return True


def _serializer(store: TenantRef) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=f"kameng-unsubscribe:{store.id}")


def unsubscribe_token(store: TenantRef, customer_id: int) -> str:
    """A signed token naming the customer in this store (no expiry: an old e-mail's link must
    still work). It can only switch offers off."""
    return _serializer(store).dumps(customer_id)


def unsubscribe_url(store: TenantRef, customer_id: int) -> str:
    return tenant_url(store, f"/unsubscribe/{unsubscribe_token(store, customer_id)}")


def customer_for_token(store: TenantRef, token: str) -> Customer | None:
    try:
        customer_id = _serializer(store).loads(token)
    except BadSignature:
        return None
    if not isinstance(customer_id, int):
        return None
    return db.session.get(Customer, customer_id)


def unsubscribe(store: TenantRef, token: str, *, ip: str = "") -> Customer | None:
    """Switch offers off for the token's customer (commits). None for a bad token."""
    customer = customer_for_token(store, token)
    if customer is None:
        return None
    actor = Actor("customer", customer.id, customer.email, ip)
    if set_opt_in(store, customer, False, actor=actor):
        db.session.commit()
    return customer


# -- campaigns -----------------------------------------------------------------------------------


def per_minute() -> int:
    return int(current_app.config.get("MARKETING_EMAIL_PER_MINUTE") or DEFAULT_PER_MINUTE)


def _day_start(now: datetime) -> datetime:
    """Midnight of today in the platform's time zone, as UTC (the daily cap's day)."""
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "UTC")
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(now.tzinfo)


def sent_today(now: datetime | None = None) -> int:
    now = now or utcnow()
    return db.session.scalar(
        select(func.count())
        .select_from(CampaignRecipient)
        .where(CampaignRecipient.status == "sent", CampaignRecipient.sent_at >= _day_start(now))
    )


def audience_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Customer).where(*_audience()))


def _audience():
    return (
        Customer.marketing_opt_in.is_(True),
        Customer.is_active.is_(True),
        Customer.is_blocked.is_(False),
    )


def create_campaign(store: TenantRef, subject: str, body: str, *, actor: Actor):
    subject, body = (subject or "").strip(), (body or "").strip()
    if not subject:
        raise MailingError("subject", N_("Enter a subject."))
    if not body:
        raise MailingError("body", N_("Write the message."))
    campaign = MarketingCampaign(subject=subject[:150], body=body, created_by=actor.email)
    db.session.add(campaign)
    db.session.flush()
    record(
        "marketing.campaign_created", actor=actor, tenant_id=store.id,
        target=f"campaign:{campaign.id}", after={"subject": campaign.subject},
    )  # fmt: skip
    db.session.commit()
    return campaign


def start_campaign(store: TenantRef, campaign: MarketingCampaign, *, actor: Actor) -> int:
    """Snapshot the recipients and queue the campaign (commits). Returns how many."""
    from app.growth.services import email_daily_cap

    if email_daily_cap(store) <= 0:
        raise MailingError("subject", N_("Your plan does not include marketing e-mail."))
    if campaign.status != "draft":
        raise MailingError("subject", N_("This campaign has been started already."))
    ids = db.session.scalars(select(Customer.id).where(*_audience()).order_by(Customer.id)).all()
    if not ids:
        raise MailingError("subject", N_("No customer has opted in to offers by e-mail yet."))
    now = utcnow()
    db.session.add_all(CampaignRecipient(campaign_id=campaign.id, customer_id=i) for i in ids)
    campaign.status = "sending"
    campaign.started_at = now
    campaign.recipients_total = len(ids)
    db.session.add(CampaignQueue(tenant_id=store.id, campaign_id=campaign.id, next_run_at=now))
    record(
        "marketing.campaign_started", actor=actor, tenant_id=store.id,
        target=f"campaign:{campaign.id}", after={"recipients": len(ids)},
    )  # fmt: skip
    enqueue_batch(store.id, campaign.id)  # held until the commit
    db.session.commit()
    return len(ids)


def cancel_campaign(store: TenantRef, campaign: MarketingCampaign, *, actor: Actor) -> None:
    if campaign.status not in ("draft", "sending"):
        raise MailingError("subject", N_("This campaign cannot be cancelled any more."))
    campaign.status = "cancelled"
    campaign.finished_at = utcnow()
    db.session.execute(
        delete(CampaignQueue).where(
            CampaignQueue.tenant_id == store.id, CampaignQueue.campaign_id == campaign.id
        )
    )
    record(
        "marketing.campaign_cancelled", actor=actor, tenant_id=store.id,
        target=f"campaign:{campaign.id}",
    )  # fmt: skip
    db.session.commit()


def enqueue_batch(tenant_id: int, campaign_id: int) -> None:
    from workers.queue import enqueue

    enqueue(
        "workers.jobs.growth.send_campaign_batch",
        campaign_id,
        tenant_id=tenant_id,
        queue="notifications",
        job_key=f"campaign-batch:{tenant_id}:{campaign_id}",
    )


def _lock_store_mail() -> None:
    """The store's marketing row, locked: batches of one store run one at a time."""
    row = db.session.scalar(select(MarketingSettings).where(MarketingSettings.id == 1))
    if row is None:
        db.session.add(MarketingSettings(id=1))
        db.session.flush()
    db.session.scalar(select(MarketingSettings).where(MarketingSettings.id == 1).with_for_update())


def send_batch(store: TenantRef, campaign_id: int, now: datetime | None = None) -> int:
    """Send the next batch of a campaign (a job, bound to the store). Returns how many sent."""
    from app.growth.services import email_daily_cap

    now = now or utcnow()
    _lock_store_mail()
    campaign = db.session.scalar(
        select(MarketingCampaign).where(MarketingCampaign.id == campaign_id).with_for_update()
    )
    queue_row = db.session.get(CampaignQueue, (store.id, campaign_id))
    if campaign is None or campaign.status != "sending":
        if queue_row is not None:
            db.session.delete(queue_row)
        db.session.commit()
        return 0
    room = min(per_minute(), email_daily_cap(store) - sent_today(now))
    sent = 0
    if room > 0:
        batch = db.session.scalars(
            select(CampaignRecipient)
            .where(
                CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.status == "queued"
            )
            .order_by(CampaignRecipient.id)
            .limit(room)
        ).all()
        for recipient in batch:
            sent += _send_one(store, campaign, recipient, now)
    left = db.session.scalar(
        select(func.count())
        .select_from(CampaignRecipient)
        .where(CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.status == "queued")
    )
    queue_row = db.session.get(CampaignQueue, (store.id, campaign_id))
    if not left:
        campaign.status = "sent"
        campaign.finished_at = now
        if queue_row is not None:
            db.session.delete(queue_row)
    elif queue_row is not None:
        capped = email_daily_cap(store) - sent_today(now) <= 0
        queue_row.next_run_at = (
            _day_start(now) + timedelta(days=1)
            if capped
            else now + timedelta(seconds=DRIVE_EVERY_SECONDS)
        )
    db.session.commit()
    return sent


def _send_one(store, campaign, recipient, now) -> int:
    from app.mail.services import send_email

    customer = db.session.get(Customer, recipient.customer_id)
    if customer is None or not (
        customer.marketing_opt_in and customer.is_active and not customer.is_blocked
    ):
        recipient.status = "skipped"
        campaign.skipped_count += 1
        db.session.commit()
        return 0
    recipient.status, recipient.sent_at = "sent", now
    campaign.sent_count += 1
    db.session.commit()  # recorded first: a retry never sends it twice
    url = unsubscribe_url(store, customer.id)
    try:
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            text = render_template(
                "mail/marketing.txt", store=store, body=campaign.body, unsubscribe_url=url,
            )  # fmt: skip
        send_email(
            customer.email,
            campaign.subject,
            text,
            headers={
                "List-Unsubscribe": f"<{url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
    except Exception:
        recipient.status, recipient.sent_at = "queued", None
        campaign.sent_count -= 1
        db.session.commit()
        raise
    return 1


def due_campaigns(now: datetime | None = None) -> list[tuple[int, int]]:
    """(store, campaign) pairs whose next batch is due (shared schema, no store read)."""
    now = now or utcnow()
    return [
        (row.tenant_id, row.campaign_id)
        for row in db.session.scalars(
            select(CampaignQueue).where(CampaignQueue.next_run_at <= now).limit(1000)
        )
    ]
