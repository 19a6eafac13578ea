"""Outgoing e-mail: SMTP when configured, otherwise .eml files in instance/outbox/."""
