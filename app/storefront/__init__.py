"""The customer-facing store at `/` on a store's host, rendered in the store's theme."""
