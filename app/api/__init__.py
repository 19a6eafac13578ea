"""The open API v1 (`/api/v1` on a store's host): keys, signed requests, B2B ordering."""
