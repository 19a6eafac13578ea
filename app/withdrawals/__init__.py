"""Withdrawals (提现): stores and suppliers take their available money out, after review."""
