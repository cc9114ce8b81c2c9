"""Readers of subscription notifications, one module per sender: each checks that a
notification is authentic and turns it into a `SubscriptionStep` (events.services.subscriptions)."""
