"""Email notifications: recipients (pure), messages (templates), outbox (enqueue, claim), sender."""
