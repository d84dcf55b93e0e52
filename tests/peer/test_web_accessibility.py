"""Accessibility, in the browser on both databases: every page of the app (the same tour
`scripts/screenshots` takes) checked by axe-core against WCAG 2.2 A and AA at a desk's and
a phone's width, light and dark, none scrolling sideways on a phone, and the main roads
walked with the keyboard alone."""

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from test_web_app import PASSWORD, create_user, tab_to
from tour import tour

WIDTHS = (1280, 375)
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
        "resultTypes": ["violations"]}


def test_every_page_passes_axe_at_desk_and_phone_widths(server, browser):
    axe = Axe()
    page = browser.new_page()
    problems, checked = [], []

    def check(name):
        for width in WIDTHS:
            for scheme in ("light", "dark"):
                page.set_viewport_size({"width": width, "height": 800})
                page.emulate_media(color_scheme=scheme)
                wider = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                if wider > 0:
                    problems.append(f"{name} at {width} px scrolls sideways by {wider} px")
                for violation in axe.run(page, options=WCAG).response["violations"]:
                    targets = [node["target"] for node in violation["nodes"]][:3]
                    problems.append(f"{name} at {width} px, {scheme}: {violation['id']} ({violation['impact']}): "
                                    f"{violation['help']} {targets}")
        page.set_viewport_size({"width": 1280, "height": 800})
        page.emulate_media(color_scheme="light")
        checked.append(name)

    tour(server, page, check)
    assert len(checked) == 23, checked
    assert not problems, "\n".join(problems)


def test_the_log_and_a_call_work_with_the_keyboard_alone(server, browser):
    create_user(server, "kim@acme.test", "manager", PASSWORD)
    number = server.number_with_flow([{"type": "forward", "number": "+13055554567"}])
    call_id = server.api("POST", "/api/v1/sandbox/calls", {"from": "+13055551234", "to": number})["data"]["call_id"]
    page = browser.new_page()
    page.goto(server.base + "/login")

    tab_to(page, "document.activeElement.id === 'email'", "the email field")
    page.keyboard.type("kim@acme.test")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    # The focus is visible: an outline drawn by :focus-visible.
    tab_to(page, "document.activeElement.getAttribute('href') === '/calls'", "the Calls link")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), outline
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/calls$"))
    tab_to(page, f"document.activeElement.getAttribute('href') === '/calls/{call_id}'", "the call")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"/calls/{call_id}$"))
    tab_to(page, "document.activeElement.textContent === 'Mark not qualified'", "the verdict button")
    page.keyboard.press("Enter")
    expect(page.locator("#verdict")).to_contain_text("Marked not qualified by a person.")
