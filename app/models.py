"""Imports every model module, so both metadata collections are complete."""

from app.analytics.models import StoreVisitDay  # noqa: F401
from app.api.models import ApiKey, IdempotentRequest  # noqa: F401
from app.audit.models import AuditEvent  # noqa: F401
from app.batches.models import Batch, BatchRow  # noqa: F401
from app.billing.models import Plan, StoreSubscription, StripeEvent  # noqa: F401
from app.catalog.models import Category, Product, Sku, SkuTierPrice, Supplier  # noqa: F401
from app.coupons.models import Coupon, CouponCode, CouponRedemption  # noqa: F401
from app.customers.models import (  # noqa: F401
    BalanceTopup,
    Customer,
    CustomerLevel,
    CustomerProgram,
)
from app.docking.models import DockingCall  # noqa: F401
from app.exports.models import OrderExport  # noqa: F401
from app.fulfilment.models import Topup, TopupCall  # noqa: F401
from app.growth.models import (  # noqa: F401
    Announcement,
    CampaignAsset,
    CampaignQueue,
    CampaignRecipient,
    CustomerFavourite,
    MarketingCampaign,
    MarketingSettings,
    PopularProduct,
    ProductPair,
)
from app.inventory.models import CardKey, CardKeyBatch, KeyAccessLog  # noqa: F401
from app.kyc.models import Verification  # noqa: F401
from app.ledger.models import LedgerAccount, LedgerEntry, LedgerHold, LedgerTransaction  # noqa: F401
from app.merchant.models import StaffInvitation, StaffSession, StaffUser, StoreSettings  # noqa: F401
from app.orders.models import Order, OrderEvent, OrderIndex, OrderItem  # noqa: F401
from app.payments.models import Payment, ProviderConfig, Refund  # noqa: F401
from app.platform.models import PlatformSession, PlatformUser  # noqa: F401
from app.pricing.models import PriceRule, ProductListing  # noqa: F401
from app.privacy.models import DeletionRequest, PrivacySettings  # noqa: F401
from app.risk.models import BlacklistEntry, PaidContact, RiskReview, VelocityCounter  # noqa: F401
from app.supplier_portal.models import CostProposal, SupplierApplication, SupplierUser  # noqa: F401
from app.suppliers.models import SupplierOffer  # noqa: F401
from app.theming.models import ThemeRevision  # noqa: F401
from app.tickets.models import Ticket, TicketEscalation, TicketMessage  # noqa: F401
from app.webhooks.models import WebhookDelivery, WebhookEndpoint  # noqa: F401
from app.withdrawals.models import Withdrawal  # noqa: F401
from tenants.models import Tenant, TenantDomain  # noqa: F401
