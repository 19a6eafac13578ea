"""Database foundations: declarative bases for shared and store tables, column types."""

from app.db.base import Base, SharedModel, TenantModel, shared_metadata, tenant_metadata
from app.db.types import BigId, UtcDateTime, utcnow

__all__ = [
    "Base",
    "BigId",
    "SharedModel",
    "TenantModel",
    "UtcDateTime",
    "shared_metadata",
    "tenant_metadata",
    "utcnow",
]
