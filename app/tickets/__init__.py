"""After-sales tickets (工单): a buyer reports a problem with an order; the store (or the
platform, once escalated) answers and resolves it with a replacement, a refund or a reasoned
rejection."""
