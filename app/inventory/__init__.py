"""Card-key inventory: encrypted secrets, de-duplicated, imported in batches, reserved and sold."""
