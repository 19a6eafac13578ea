"""Benchmarks: `python -m benchmarks.NAME`, printing one `name=value` line per figure."""
