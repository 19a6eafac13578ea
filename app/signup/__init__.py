"""The apex site's public pages: the landing page and self-service store opening (开通分站)."""
