"""Background jobs: one enqueue(), RQ workers in production, a thread in the embedded default."""
