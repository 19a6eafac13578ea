"""Signing in: credentials, login sessions bound to one site, the user loader."""
