"""The double-entry ledger: every business event posts one balanced transaction (shared schema)."""
