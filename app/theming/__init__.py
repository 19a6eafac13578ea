"""Theme packs and each store's theme settings: manifests, drafts, publishing, rollback."""
