"""Direct top-ups: paid items fulfilled through supplier APIs by background jobs."""
