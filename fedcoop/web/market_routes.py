"""Every marketplace route, pages and JSON API, for `make_app` to add in one line."""

from __future__ import annotations

from aiohttp.web import AbstractRouteDef

from fedcoop.web import api_deals, api_gigs, deal_pages, gig_pages

routes: list[AbstractRouteDef] = [
    *gig_pages.routes,
    *deal_pages.routes,
    *api_gigs.routes,
    *api_deals.routes,
]
