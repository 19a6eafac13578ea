"""Store customer accounts: sign-up, sign-in, password reset and order history (store schema)."""
