"""A new team's first hour, in a browser and without Django admin: the first account, the first
app, a marketer invited by email who sets a password and reaches the TikTok setup."""

from __future__ import annotations

import re

from django.core import mail
from playwright.sync_api import expect

from tests.browser.conftest import screenshot


def test_first_admin_adds_an_app_invites_a_marketer_who_sets_up_tiktok(
    page, browser, live_server, transactional_db
):
    page.goto("/")
    expect(page.get_by_role("heading", name="Welcome to Signalboard")).to_be_visible()
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password", exact=True).fill("first-0f-many!")
    page.get_by_label("Password again").fill("first-0f-many!")
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_role("heading", name="New app")).to_be_visible()
    page.get_by_label("Name").fill("Trailhead shop")
    page.get_by_label("App id").fill("web.trailhead")
    page.get_by_label("Platform").select_option("web")
    page.get_by_label("Website url").fill("https://shop.example.com/")
    page.get_by_label("Domains").fill("https://shop.example.com")
    page.get_by_label("Timezone").select_option("Europe/Berlin")
    page.get_by_label("Currency").fill("EUR")
    page.get_by_role("button", name="Add app").click()
    expect(page.get_by_role("heading", name="Trailhead shop", exact=True)).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="Copy this key now")).to_contain_text("sk_")

    page.get_by_role("link", name="Team").click()
    page.get_by_label("Email").fill("bo@example.com")
    page.get_by_label("Role", exact=True).select_option("marketer")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator("#pending-invitations")).to_contain_text("bo@example.com as marketer")
    screenshot(page, "team-invited")

    link = re.search(r"https?://\S+/invitations/\S+/", mail.outbox[-1].body).group(0)
    marketer = browser.new_context(base_url=live_server.url).new_page()
    marketer.goto("/" + link.split("/", 3)[3])
    expect(marketer.get_by_role("heading", name="Join Trailhead shop")).to_be_visible()
    marketer.get_by_label("Username").fill("x")
    marketer.get_by_role("button", name="Create my account").click()
    expect(marketer.get_by_role("alert").first).to_contain_text("3 to 150 letters")
    marketer.get_by_label("Username").fill("bodhi")
    marketer.get_by_label("Password", exact=True).fill("n0t-so-simple!")
    marketer.get_by_label("Password again").fill("n0t-so-simple!")
    marketer.get_by_role("button", name="Create my account").click()
    expect(marketer.get_by_role("heading", name="Trailhead shop", exact=True)).to_be_visible()

    marketer.get_by_role("link", name="Partner Marketplace").click()
    marketer.get_by_role("link", name=re.compile("TikTok", re.I)).first.click()
    marketer.get_by_role("button", name=re.compile("Set up integration", re.I)).click()
    expect(marketer.get_by_role("heading", name=re.compile("TikTok", re.I)).first).to_be_visible()
    expect(marketer.get_by_label(re.compile("Pixel ID", re.I))).to_be_visible()
    screenshot(marketer, "invited-marketer-setup")
