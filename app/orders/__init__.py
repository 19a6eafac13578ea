"""Orders: numbers, the state machine, card-key reservation and expiry (checkout builds on this)."""
