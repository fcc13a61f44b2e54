"""Social domain: follows, blocks, notes, notifications, and the events federation publishes.

Knows nothing of ActivityPub: it records who follows whom and what was said; every change
that other servers must hear about writes an event row in the same transaction.
"""
