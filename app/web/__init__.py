"""Web plumbing shared by every area: routing by site, URLs, themes, error pages, security headers."""
