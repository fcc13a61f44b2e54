"""Inbound activity handlers, routed by (activity type, object type).

Each handler module registers itself with `@handles(...)`; importing this package imports
them all, so the registry is complete once `fedcoop.federation.handlers` is imported.
"""

from fedcoop.federation.handlers import (  # noqa: F401  (registers)
    actors,
    block,
    coops,
    follow,
    gigs,
    notes,
    reviews,
)
