"""Store webhooks: endpoints a store registers, signed deliveries of its order events, retries."""
