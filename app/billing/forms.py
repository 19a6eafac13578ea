"""Billing forms: a plan in the console (one field per entitlement), assigning a plan by hand,
and a store choosing a plan. Shapes only; the rules live in app.billing.plans and services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import InputRequired, Length, Optional

from app.billing.entitlements import ENTITLEMENTS
from app.i18n import translate


class PlanFormBase(FlaskForm):
    code = StringField(_l("Code"), validators=[Length(max=30)])
    name = StringField(_l("Name"), validators=[Length(max=60)])
    position = IntegerField(_l("Position"), default=0, validators=[Optional()])
    is_active = BooleanField(_l("Offered to stores"), default=True)
    currency = StringField(_l("Currency"), default="CNY", validators=[Length(max=3)])
    # Amounts stay text: the plan service says what a valid number of cents is.
    monthly_price_cents = StringField(_l("Monthly list price (cents)"), default="0")
    yearly_price_cents = StringField(_l("Yearly list price (cents)"), default="0")
    stripe_price_monthly = StringField(_l("Stripe price, monthly"), validators=[Length(max=255)])
    stripe_price_yearly = StringField(_l("Stripe price, yearly"), validators=[Length(max=255)])
    trial_days = StringField(_l("Trial days"), default="0")

    def entitlement_fields(self):
        return [getattr(self, f"ent_{name}") for name in ENTITLEMENTS]

    def entitlement_values(self) -> dict:
        return {name: getattr(self, f"ent_{name}").data for name in ENTITLEMENTS}


def _entitlement_field(spec):
    label = _l(spec.label)
    description = _l(spec.hint) if spec.hint else ""
    if spec.kind == "bool":
        return BooleanField(label, description=description)
    if spec.kind == "int":
        return StringField(label, description=description, default=str(spec.default))
    return StringField(label, description=description, validators=[Length(max=30)])


PlanForm = type(
    "PlanForm",
    (PlanFormBase,),
    {f"ent_{name}": _entitlement_field(spec) for name, spec in ENTITLEMENTS.items()},
)


def plan_form(plan=None, **kwargs) -> PlanFormBase:
    """The form of `plan` (prefixed by its code, so one page can hold a form per plan), or of
    a new plan."""
    data = {}
    if plan is not None:
        data = {
            "code": plan.code,
            "name": plan.name,
            "position": plan.position,
            "is_active": plan.is_active,
            "currency": plan.currency,
            "monthly_price_cents": str(plan.monthly_price_cents),
            "yearly_price_cents": str(plan.yearly_price_cents),
            "stripe_price_monthly": plan.stripe_price_monthly or "",
            "stripe_price_yearly": plan.stripe_price_yearly or "",
            "trial_days": str(plan.trial_days),
            **{f"ent_{name}": value for name, value in (plan.entitlements or {}).items()},
        }
    return PlanForm(prefix=plan.code if plan is not None else "new", data=data, **kwargs)


class AssignPlanForm(FlaskForm):
    tenant_id = HiddenField(validators=[InputRequired()])
    plan = SelectField(_l("Plan"), validators=[InputRequired()])


class ChoosePlanForm(FlaskForm):
    plan = HiddenField(validators=[InputRequired()])
    interval = SelectField(
        _l("Billing period"),
        choices=[SelectChoice("month", _l("Monthly")), SelectChoice("year", _l("Yearly"))],
        validators=[InputRequired()],
    )


def attach_error(form, field_name: str, message: str, **params) -> bool:
    """Show a service's refusal on the field it names; False when the form has no such field."""
    field = getattr(form, field_name, None)
    if field is None:
        return False
    field.errors = [*field.errors, translate(message, **params)]
    return True
