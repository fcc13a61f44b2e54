"""A local author's plain text -> the HTML every peer expects: paragraphs, links, mentions.

The output uses Mastodon's markup (`<p>`, `<br>`, `h-card` mentions, plain `<a>` links) so
Mastodon-compatible clients and servers render it the way they render their own posts, and
it passes fedcoop's own sanitiser unchanged. Everything else in the text is escaped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

# `@user` or `@user@host`, the host optionally with a port (local federations on loopback).
# Not preceded by a word character, `@` or `/`, so e-mail addresses and URLs are left alone.
MENTION_RE = re.compile(
    r"(?<![\w@/])@(?P<user>[A-Za-z0-9_]{1,30})"
    r"(?:@(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?))?"
    r"(?![\w@])"
)
URL_RE = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
TOKEN_RE = re.compile(f"(?P<url>{URL_RE.pattern})|(?P<mention>{MENTION_RE.pattern})", re.I)
_TRAILING = ".,;:!?)]}'\""
LINK_REL = "nofollow noopener noreferrer"


@dataclass(frozen=True)
class Handle:
    username: str
    host: str | None  # None: a local name written without a host

    def key(self, local_host: str) -> tuple[str, str]:
        return self.username.lower(), (self.host or local_host).lower()


def parse_mentions(text: str) -> list[Handle]:
    """The distinct `@user[@host]` handles in `text`, in order of appearance (URLs skipped)."""
    seen: dict[tuple[str, str | None], Handle] = {}
    for match in TOKEN_RE.finditer(text):
        if match.group("mention"):
            handle = Handle(match.group("user"), match.group("host"))
            seen.setdefault((handle.username.lower(), (handle.host or "").lower() or None), handle)
    return list(seen.values())


@dataclass(frozen=True)
class MentionLink:
    href: str
    username: str


def _link(url: str) -> str:
    stripped = url.rstrip(_TRAILING)
    shown = re.sub(r"^https?://", "", stripped, flags=re.IGNORECASE)
    return f'<a href="{escape(stripped)}" rel="{LINK_REL}">{escape(shown)}</a>' + escape(
        url[len(stripped) :]
    )


def _mention(link: MentionLink) -> str:
    return (
        f'<span class="h-card"><a href="{escape(link.href)}" class="u-url mention">'
        f"@<span>{escape(link.username)}</span></a></span>"
    )


def _line(text: str, resolve: Callable[[Handle], MentionLink | None]) -> str:
    out: list[str] = []
    pos = 0
    for match in TOKEN_RE.finditer(text):
        out.append(escape(text[pos : match.start()]))
        if match.group("url"):
            out.append(_link(match.group("url")))
        else:
            found = resolve(Handle(match.group("user"), match.group("host")))
            out.append(_mention(found) if found else escape(match.group(0)))
        pos = match.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def render_text(text: str, resolve: Callable[[Handle], MentionLink | None]) -> str:
    """Paragraphs on blank lines, `<br>` on single newlines, links and known mentions linked."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()) if p]
    return "".join(
        "<p>" + "<br>".join(_line(line, resolve) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )
