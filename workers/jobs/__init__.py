"""Job functions: each takes ids only, re-reads state and is safe to run twice."""
