"""Payments: one provider interface, signed callbacks, and what a confirmed payment sets off."""
