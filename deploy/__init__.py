"""Deployment files (gunicorn, systemd, Caddy, PgBouncer) and `make prod-local`."""
