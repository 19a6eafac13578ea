"""Imports every model module, so both metadata collections are complete."""

from app.merchant.models import StaffUser, StoreSettings  # noqa: F401
from app.platform.models import PlatformUser  # noqa: F401
from tenants.models import Tenant, TenantDomain  # noqa: F401
