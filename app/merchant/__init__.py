"""The store back-office (/admin on a store's own host)."""
