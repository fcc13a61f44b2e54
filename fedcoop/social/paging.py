"""Mastodon-style paging by time-sortable ids: `max_id`, `since_id`, `min_id`, `limit`.

`max_id` pages backwards (older than), `since_id` returns the newest items above an id, and
`min_id` returns the items immediately above an id (oldest of them first, so a client can
walk forward without gaps); either way results are handed back newest first.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_LIMIT = 20
MAX_LIMIT = 40


@dataclass(frozen=True)
class Page:
    max_id: str | None = None
    since_id: str | None = None
    min_id: str | None = None
    limit: int = DEFAULT_LIMIT

    def __post_init__(self) -> None:
        # Clamp rather than refuse: Mastodon does the same for out-of-range limits.
        object.__setattr__(self, "limit", max(1, min(int(self.limit), MAX_LIMIT)))


def page_clause(page: Page, column: str) -> tuple[list[str], str, list[str]]:
    """SQL conditions, the ORDER BY direction and their parameters for `page` on `column`."""
    clauses: list[str] = []
    params: list[str] = []
    if page.max_id:
        clauses.append(f"{column} < ?")
        params.append(page.max_id)
    if page.since_id:
        clauses.append(f"{column} > ?")
        params.append(page.since_id)
    if page.min_id:
        clauses.append(f"{column} > ?")
        params.append(page.min_id)
        return clauses, "ASC", params
    return clauses, "DESC", params
