"""The shared upstream catalog: suppliers, categories, products and SKUs (shared schema)."""
