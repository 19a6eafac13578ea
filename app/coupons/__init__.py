"""Store coupons (优惠券): definitions, codes, the discount, redemptions reserved with orders."""
