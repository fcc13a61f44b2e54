"""Marketplace domain: gigs, applications, agreements, reviews, reputation, votes."""
