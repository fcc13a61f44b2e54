"""Outbound renderers: a committed domain event -> the activities to publish and to whom."""

from fedcoop.federation.renderers import reviews, social  # noqa: F401  (registers)
from fedcoop.federation.renderers import gigs  # noqa: F401  (registers)
from fedcoop.federation.renderers import coops  # noqa: F401  (registers)
