"""Outbound renderers: a committed domain event -> the activities to publish and to whom."""
