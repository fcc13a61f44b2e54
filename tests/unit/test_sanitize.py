"""The allowlist sanitiser remote HTML goes through before it is stored."""

from __future__ import annotations

import pytest

from fedcoop.federation.sanitize import LINK_REL, plain_text, sanitize_html

MASTODON_MENTION = (
    '<p><span class="h-card" translate="no"><a href="https://mastodon.example/@ana" '
    'class="u-url mention">@<span>ana</span></a></span> hello '
    '<a href="https://example.org/page" target="_blank" rel="nofollow noopener" '
    'translate="no"><span class="invisible">https://</span><span class="">example.org/page'
    "</span></a></p>"
)


def test_mastodon_markup_survives_with_our_rel() -> None:
    # Given a status as Mastodon renders it
    # when it is sanitised
    cleaned = sanitize_html(MASTODON_MENTION)
    # then the mention and link markup stays, with our rel and nothing else
    assert (
        '<span class="h-card"><a href="https://mastodon.example/@ana" '
        f'class="u-url mention" rel="{LINK_REL}">@<span>ana</span></a></span>'
    ) in cleaned
    assert '<span class="invisible">https://</span>' in cleaned
    assert "target=" not in cleaned and "translate=" not in cleaned
    assert cleaned.count(f'rel="{LINK_REL}"') == 2


@pytest.mark.parametrize(
    ("dirty", "forbidden"),
    [
        ('<p onclick="alert(1)">hi</p>', "onclick"),
        ('<a href="javascript:alert(1)">x</a>', "javascript"),
        ('<a href="JaVaScRiPt:alert(1)">x</a>', "alert"),
        ('<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>', "data:"),
        ("<script>alert(1)</script>", "alert"),
        ("<style>body{display:none}</style>", "display"),
        ('<img src="x" onerror="alert(1)">', "img"),
        ('<iframe src="https://evil.example"></iframe>', "iframe"),
        ('<p style="position:fixed">x</p>', "style"),
        ('<a href="https://e.example" class="button">x</a>', "button"),
        ("<svg><script>alert(1)</script></svg>", "alert"),
        ('<a href="/relative">x</a>', "relative"),
        ("<!-- hidden --><p>x</p>", "hidden"),
    ],
)
def test_dangerous_markup_is_removed(dirty: str, forbidden: str) -> None:
    assert forbidden.lower() not in sanitize_html(dirty).lower()


def test_allowed_structure_is_kept_and_unknown_tags_keep_their_text() -> None:
    html = (
        "<p>a<br>b</p><ul><li>one</li></ul><ol><li>two</li></ol><blockquote>q</blockquote>"
        "<pre><code>x = 1</code></pre><strong>s</strong><em>e</em>"
    )
    assert sanitize_html(html) == html
    assert sanitize_html("<h1>Title</h1><b>bold</b><div>block</div>") == "Titleboldblock"


def test_text_is_escaped_not_interpreted() -> None:
    assert sanitize_html("<p>1 &lt; 2 &amp; <3</p>") == "<p>1 &lt; 2 &amp; &lt;3</p>"


def test_plain_text_drops_markup_and_decodes_entities() -> None:
    # A content warning is text: markup goes, entities become characters (escaped on output).
    assert plain_text("<b>spoiler</b> &amp; <script>x()</script>more", 100) == "spoiler & more"
    assert plain_text("x" * 50, 10) == "x" * 10
