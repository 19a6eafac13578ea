"""Risk control: limits, velocity, blacklists and the review queues of risky orders."""
