"""A member signs in and out with a real browser, under the site's Content-Security-Policy."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/fedcoop-signin.png"


async def test_alice_signs_in_and_out(page: Any, live_url: str) -> None:
    csp_violations: list[str] = []
    page.on(
        "console",
        lambda msg: (
            csp_violations.append(msg.text) if "Content Security Policy" in msg.text else None
        ),
    )
    header = page.locator("header.site")

    # given the home page, which lists the coop
    await page.goto(live_url + "/")
    await expect(page.locator("ul.coops")).to_contain_text("Vélo Coop")
    await expect(header).to_contain_text("Sign in")

    # when alice mistypes her password, the form comes back with the message
    await header.get_by_role("link", name="Sign in").click()
    await page.wait_for_url(live_url + "/auth/sign_in")
    await page.get_by_label("Username").fill("alice")
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    await expect(page.get_by_label("Username")).to_have_value("alice")

    # and when she types it right, she lands on her profile with her handle in the header
    await page.get_by_label("Password").fill(ADMIN_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(live_url + "/@alice")
    await expect(header).to_contain_text("@alice")
    await expect(page.locator("article.profile")).to_contain_text("Vélo Coop")
    await page.screenshot(path=SCREENSHOT, full_page=True)
    # the session cookie is out of reach of scripts
    assert "fedcoop_session" not in await page.evaluate("document.cookie")
    cookies = {c["name"]: c for c in await page.context.cookies()}
    assert cookies["fedcoop_session"]["httpOnly"] is True

    # then signing out brings her home, signed out
    await header.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(live_url + "/")
    await expect(header).to_contain_text("Sign in")
    await expect(header).not_to_contain_text("@alice")
    assert "fedcoop_session" not in {c["name"] for c in await page.context.cookies()}

    assert csp_violations == []
