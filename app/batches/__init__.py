"""Batch top-up (批量充值): many top-ups from one file, priced and paid from the balance at once."""
