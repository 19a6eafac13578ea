"""Web plumbing shared by every area: routing by site, URLs, themes, errors, headers."""
