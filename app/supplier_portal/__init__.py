"""The supplier portal at /supplier on the apex: apply, stock, cost proposals, money."""
