"""The platform console (主站) at the apex domain: stores, and later catalog, reviews, billing."""
