"""Upstream suppliers: connectors to their APIs, routing between offers, circuit breakers."""
