"""Outbound renderers: a committed domain event -> the activities to publish and to whom."""

from fedcoop.federation.renderers import (  # noqa: F401  (registers)
    coops,
    gigs,
    reviews,
    social,
)
