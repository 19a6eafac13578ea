"""Operations' view of a running platform: health and readiness, Prometheus metrics, JSON logs."""
