"""Platform console forms for the shared catalog, suppliers and card-key inventory.

Forms check the shape of the input (lengths, JSON syntax, one source of keys); the rules
themselves (cents, codes, schema patterns, publishing) live in the catalog and inventory services.
"""

from __future__ import annotations

import json

from flask import flash
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import Email, Length, NumberRange, Optional

from app.i18n import translate
from app.inventory.services import SEPARATOR_CHOICES
from app.merchant.catalog_forms import ROUNDING_CHOICES
from app.money import parse_decimal_to_units
from app.suppliers.connectors.base import Connector

# Plan tiers that can get their own wholesale price; empty means the default wholesale price.
PRICE_TIERS = ("free", "pro", "business")
TIER_CHECKS = [Optional()]
SEPARATOR_LABELS = {
    "none": _l("None: one key per line"),
    "space": _l("Space"),
    "tab": _l("Tab"),
    "comma": _l("Comma (CSV)"),
    "pipe": _l("Vertical bar |"),
    "dashes": _l("Four dashes ----"),
}


def optional_int(value) -> int | None:
    """Select coercion where the empty choice means "none"."""
    if value in (None, "", "None"):
        return None
    return int(value)


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token travels."""


class CategoryForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=60)])
    parent_id = SelectField(_l("Parent category"), coerce=optional_int, validate_choice=True)
    icon = StringField(_l("Icon"), validators=[Length(max=40)])
    position = IntegerField(_l("Position"), default=0, validators=[Optional()])


class ProductForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=120)])
    category_id = SelectField(_l("Category"), coerce=optional_int)
    delivery_type = SelectField(_l("Delivery type"))
    description_md = TextAreaField(_l("Description (Markdown)"), validators=[Length(max=20000)])
    image = FileField(_l("Image"))
    input_schema = TextAreaField(_l("Account fields (JSON, direct top-ups only)"))
    position = IntegerField(_l("Position"), default=0, validators=[Optional()])
    is_high_risk = BooleanField(_l("High risk (gift cards and the like)"))

    def validate_input_schema(self, field):
        try:
            self.parsed_input_schema = json.loads(field.data) if (field.data or "").strip() else []
        except json.JSONDecodeError as error:
            raise ValidationError(
                _l("This is not valid JSON (line %(line)s, column %(column)s).")
                % {"line": error.lineno, "column": error.colno}
            ) from None


class SkuForm(FlaskForm):
    # Amounts stay text here: the catalog service says what a valid number of cents is.
    code = StringField(_l("SKU code"), validators=[Length(max=64)])
    name = StringField(_l("Name"), validators=[Length(max=120)])
    face_value_cents = StringField(_l("Face value (cents)"))
    wholesale_cents = StringField(_l("Wholesale price (cents)"))
    cost_cents = StringField(_l("Cost (cents)"))
    min_quantity = StringField(_l("Minimum quantity"), default="1")
    max_quantity = StringField(_l("Maximum quantity"), default="100")
    low_stock_threshold = StringField(_l("Low-stock alert below"), default="100")
    daily_quantity_max = StringField(_l("At most per buyer per day"))
    supplier_id = SelectField(_l("Supplier"), coerce=optional_int)
    supplier_sku_code = StringField(_l("Supplier's SKU code"), validators=[Length(max=64)])
    is_active = BooleanField(_l("Active"), default=True)
    tier_free = IntegerField(_l("Wholesale for Free plan (cents)"), validators=TIER_CHECKS)
    tier_pro = IntegerField(_l("Wholesale for Pro plan (cents)"), validators=TIER_CHECKS)
    tier_business = IntegerField(_l("Wholesale for Business plan (cents)"), validators=TIER_CHECKS)

    def tier_fields(self):
        return [getattr(self, f"tier_{tier}") for tier in PRICE_TIERS]

    def tier_prices(self) -> dict[str, int | str]:
        return {
            tier: ("" if (value := getattr(self, f"tier_{tier}").data) is None else value)
            for tier in PRICE_TIERS
        }


class SupplierForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=100)])
    status = SelectField(
        _l("Status"),
        choices=[SelectChoice("active", _l("Active")), SelectChoice("suspended", _l("Suspended"))],
    )
    contact_name = StringField(_l("Contact name"), validators=[Length(max=100)])
    contact_email = StringField(
        _l("Contact e-mail"), validators=[Optional(), Email(), Length(max=254)]
    )
    contact_phone = StringField(_l("Contact phone"), validators=[Length(max=40)])


class ConnectorChoiceForm(FlaskForm):
    """Which connector to set up (a GET form: it only chooses the settings shown)."""

    class Meta:
        csrf = False

    connector = SelectField(_l("Connector"))


class ConnectorSettingsForm(FlaskForm):
    """Fields are added per connector by `connector_settings_form()`, named `setting_<name>`."""

    connector: type[Connector]

    def setting_fields(self):
        return [(spec, self[f"setting_{spec.name}"]) for spec in self.connector.setting_fields]

    def values(self) -> dict[str, str]:
        return {spec.name: (field.data or "") for spec, field in self.setting_fields()}


def connector_settings_form(
    connector: type[Connector], stored: dict[str, str], **kwargs
) -> ConnectorSettingsForm:
    """A form for one connector's settings: stored values shown, except secrets (never shown
    again; left blank they are kept)."""
    attributes = {"connector": connector}
    data = {}
    for spec in connector.setting_fields:
        label = translate(spec.label)
        if spec.secret:
            field = PasswordField(label)
        elif spec.choices:
            field = SelectField(label, choices=[SelectChoice(c, c) for c in spec.choices])
        elif spec.multiline:
            field = TextAreaField(label)
        else:
            field = StringField(label)
        attributes[f"setting_{spec.name}"] = field
        if not spec.secret:
            data[f"setting_{spec.name}"] = stored.get(spec.name, spec.default)
    form_class = type("ConnectorSettingsForm", (ConnectorSettingsForm,), attributes)
    return form_class(data=data, **kwargs)


class OfferForm(FlaskForm):
    supplier_id = SelectField(_l("Supplier"), coerce=optional_int)
    supplier_sku_code = StringField(_l("Supplier's SKU code"), validators=[Length(max=64)])
    cost = StringField(_l("Cost (yuan)"))
    priority = IntegerField(
        _l("Priority (lower is tried first)"), default=0, validators=[Optional(), NumberRange(0)]
    )

    def validate_supplier_id(self, field):
        if field.data is None:
            raise ValidationError(_l("Choose a supplier."))

    def validate_supplier_sku_code(self, field):
        if not (field.data or "").strip():
            raise ValidationError(_l("Enter the supplier's code for this product."))

    def validate_cost(self, field):
        cents = parse_decimal_to_units(field.data or "")
        if cents is None or cents < 0:
            raise ValidationError(_l("Enter an amount like 9.80."))
        self.cost_cents = cents


class ImportKeysForm(FlaskForm):
    text = TextAreaField(_l("Paste keys, one per line"))
    file = FileField(_l("…or upload a TXT/CSV file"))
    separator = SelectField(
        _l("Between card number and password"),
        choices=[SelectChoice(key, SEPARATOR_LABELS.get(key, key)) for key in SEPARATOR_CHOICES],
        default="none",
    )

    def separator_value(self) -> str | None:
        return SEPARATOR_CHOICES[self.separator.data]

    def refused(self, error) -> None:
        """An InventoryError from the import, shown on the text field."""
        self.text.errors = [*self.text.errors, translate(error.message, **error.params)]

    def keys(self) -> tuple:
        """(lines, origin, filename): the uploaded file's stream, or the pasted lines."""
        upload = self.file.data
        if upload and upload.filename:
            return upload.stream, "upload", upload.filename
        return (self.text.data or "").splitlines(), "paste", ""

    def validate_text(self, field):
        has_text = bool((field.data or "").strip())
        has_file = bool(self.file.data and getattr(self.file.data, "filename", ""))
        if has_text and has_file:
            raise ValidationError(_l("Paste keys or upload a file, not both."))
        if not has_text and not has_file:
            raise ValidationError(_l("Paste some keys or choose a file."))


class ExportKeysForm(FlaskForm):
    reason = StringField(_l("Why are the keys exported?"), validators=[Length(max=500)])


def flash_import_report(report) -> None:
    """The outcome of a card-key import, for the page that follows it."""
    flash(
        translate(
            "Import finished: %(added)s added, %(duplicates)s duplicates, %(invalid)s invalid.",
            added=report.added,
            duplicates=report.duplicates,
            invalid=report.invalid,
        ),
        "success",
    )


class UpstreamImportForm(FlaskForm):
    """Terms of importing a docked supplier's products; the products themselves are the checked
    `product` boxes of the page (their codes are the supplier's)."""

    markup = StringField(_l("Platform markup on cost (percent)"), default="10")
    rounding = SelectField(_l("Rounding of the wholesale price"), choices=ROUNDING_CHOICES)
    category_id = SelectField(_l("Category"), coerce=optional_int)
    publish = BooleanField(_l("Publish at once"), default=False)

    def validate_markup(self, field):
        basis_points = parse_decimal_to_units(field.data or "")
        if basis_points is None or not 0 <= basis_points <= 100_000:
            raise ValidationError(_l("Enter a percentage from 0 to 1000, like 12.5."))
        self.markup_bp = basis_points
