"""Declarative bases: SharedModel lives in schema `shared`, TenantModel in each store's schema."""

from __future__ import annotations

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from tenants.session import TenantSession

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SHARED_SCHEMA = "shared"

shared_metadata = MetaData(schema=SHARED_SCHEMA, naming_convention=NAMING_CONVENTION)
# Store tables carry no schema: tenants.engines maps them to the bound store's schema at run time.
tenant_metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    """Root of every model; subclasses pick their metadata through SharedModel or TenantModel."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base, session_options={"class_": TenantSession})


class SharedModel(db.Model):
    """A table in the shared schema: platform-wide data (stores, domains, catalog, ledger)."""

    __abstract__ = True
    metadata = shared_metadata


class TenantModel(db.Model):
    """A table that exists once per store, in the store's own schema."""

    __abstract__ = True
    metadata = tenant_metadata
