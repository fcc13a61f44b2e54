"""Remote HTML -> HTML safe to show: an allowlist sanitiser (nh3, Rust's ammonia) at the edge.

Remote content is sanitised once, when it enters (DESIGN.md habit 6), so the domain stores
only safe HTML and templates and the client API can hand it out as it is. The allowlist is
what Mastodon itself emits and keeps: paragraphs, line breaks, links, mention and hashtag
markup (`h-card`, `u-url mention`, `hashtag`, `invisible`/`ellipsis` for shortened URLs),
emphasis, lists, quotes and code. Scripts and styles go with their content; event handlers,
`style` and every other attribute are dropped; links are http(s) only and always get
`rel="nofollow noopener noreferrer"`, whatever rel they came with.
"""

from __future__ import annotations

import html
from typing import Final

import nh3

ALLOWED_TAGS: Final = frozenset(
    {"p", "br", "a", "span", "strong", "em", "ul", "ol", "li", "blockquote", "code", "pre"}
)
ALLOWED_CLASSES: Final = {
    "a": {"mention", "u-url", "hashtag", "status-link", "unhandled-link"},
    "span": {"h-card", "invisible", "ellipsis"},
}
LINK_REL: Final = "nofollow noopener noreferrer"
URL_SCHEMES: Final = frozenset({"http", "https"})
# The content of these is dropped too, not only the tags (nh3 keeps the text of other tags).
DROPPED_WITH_CONTENT: Final = frozenset({"script", "style", "template", "noscript", "title"})
MAX_HTML_CHARS: Final = 100_000

_cleaner = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(DROPPED_WITH_CONTENT),
    attributes={"a": {"href"}},
    allowed_classes={tag: set(classes) for tag, classes in ALLOWED_CLASSES.items()},
    url_schemes=set(URL_SCHEMES),
    link_rel=LINK_REL,
    strip_comments=True,
    # A relative href means nothing outside the page it came from.
    url_relative="deny",
)


def sanitize_html(untrusted: str) -> str:
    """Clean untrusted HTML; over-long input is cut before cleaning (nh3 closes open tags)."""
    return _cleaner.clean(untrusted[:MAX_HTML_CHARS])


def plain_text(value: str, limit: int) -> str:
    """A remote plain-text field (a content warning, a name): tags dropped, entities decoded
    (it is stored and escaped on output as text, like a local author's own text), capped."""
    return html.unescape(nh3.clean(value[: limit * 4], tags=set())).strip()[:limit]
