"""Prices: the pure pricing engine, store markup rules, and quotes for every sales channel."""
