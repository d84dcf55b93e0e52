"""The dashboard, reports, spend and the agency view in Chromium, on both databases, after
sandbox calls placed over the real webhook road: the figures are the stats API's, a chart's
table is the analytics API's, a bar opens exactly its calls, a report's URL reproduces it in
a new browser, entered spend gives the cost per lead that hand arithmetic gives, a viewer
enters none, and the period picker and the report builder work with the keyboard alone."""

import datetime
import re
import urllib.parse

from playwright.sync_api import expect

from conftest import eventually
from test_web_app import PASSWORD, create_user, sign_in, tab_to


def buy(server, source, steps):
    flow = server.api("POST", "/api/v1/call-flows", {"name": source or "Main", "steps": steps})["data"]["call_flow"]["id"]
    body = {"area_code": "573", "call_flow_id": flow, "friendly_name": (source or "Main").title()}
    if source:
        body["source"] = source
    return server.api("POST", "/api/v1/numbers/purchase", body)["data"]["phone_number"]


def place_calls(server):
    """Google: two answered calls (a long one and a short one); bing: a missed call; a
    number without a source: a voicemail. Waits until all four are complete."""
    forward = [{"type": "forward", "number": "+13055554567"}]
    google, bing = buy(server, "google", forward), buy(server, "bing", forward)
    voicemail = buy(server, None, [{"type": "voicemail", "message": "Leave us a message"}])
    for caller, number, extra in [("+13055551234", google, {"talk_seconds": 240}),
                                  ("+13055551235", google, {"talk_seconds": 5}),
                                  ("+16175550123", bing, {"answer": False}),
                                  ("+14155550142", voicemail, {"voicemail_text": "Please call me back about a leak."})]:
        server.api("POST", "/api/v1/sandbox/calls", {"from": caller, "to": number, **extra})
    eventually(lambda: stats(server)["total_calls"] == 4 and stats(server)["voicemail_calls"] == 1, "the calls", 60)


def today():
    return datetime.datetime.now(datetime.timezone.utc).date()  # "My Business" keeps UTC


def stats(server, query=""):
    return server.api("GET", "/api/v1/dashboard/stats" + query)["data"]


def analytics(server, query):
    return server.api("GET", "/api/v1/analytics/calls?" + query)["data"]["rows"]


def table_rows(table):
    """A table's body as lists of its cells' text."""
    return [[cell.strip() for cell in row.locator("td, th").all_inner_texts()] for row in table.locator("tbody tr").all()]


def test_the_dashboard_reports_and_spend_answer_where_leads_come_from(server, browser):
    place_calls(server)
    create_user(server, "olivia@acme.test", "admin", PASSWORD)
    create_user(server, "maria@acme.test", "viewer", PASSWORD)
    page = browser.new_page()
    sign_in(page, server, "olivia@acme.test")
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    page.get_by_role("navigation", name="Period").get_by_role("link", name="Today").click()
    day = today().isoformat()
    expect(page).to_have_url(re.compile(f"date_from={day}&date_to={day}"))

    # The figures are the stats API's for the same day.
    expected = stats(server, f"?date_from={day}&date_to={day}")
    figures = page.locator("dl.figures")
    for label, field in [("Calls", "total_calls"), ("Answered", "answered_calls"), ("Missed", "missed_calls"),
                         ("Voicemails", "voicemail_calls"), ("Qualified leads", "qualified_calls")]:
        shown = figures.locator(f"dt:text-is('{label}') + dd a").inner_text()
        assert shown == str(expected[field]), (label, shown, expected)

    # The source chart's table, one press away, is the analytics API's answer.
    chart = page.locator("section.chart", has=page.get_by_role("heading", name="Calls and qualified leads by source"))
    chart.get_by_text("Show the numbers").click()
    shown = sorted(table_rows(chart.locator("table")))
    theirs = sorted([row["source"], str(row["count"]), str(row["qualified"])]
                    for row in analytics(server, f"group_by=source&metrics=count,qualified&date_from={day}&date_to={day}"))
    assert shown == theirs, (shown, theirs)

    # Following google's bar lands in the log showing exactly its calls.
    google_calls = next(row["count"] for row in analytics(server, "group_by=source&metrics=count") if row["source"] == "google")
    chart.locator("svg a[aria-label^='google: '][aria-label$=' calls']").click()
    expect(page).to_have_url(re.compile(r"/calls\?.*source=google"))
    expect(page.locator("#log-results tbody tr")).to_have_count(google_calls)

    # Entered spend gives the cost per qualified lead of hand arithmetic: this month's
    # $1,250.00 over this month's days, divided by google's qualified calls.
    page.goto(server.base + "/spend")
    month = day[:7]
    page.get_by_label("Month").fill(month)
    page.get_by_label("Source").fill("google")
    page.get_by_label("Amount in dollars").fill("1,250.00")
    page.get_by_role("button", name="Save spend").click()
    expect(page.get_by_role("status")).to_contain_text("Saved $1,250.00 on google")
    first = today().replace(day=1)
    last = (first + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
    page.goto(server.base + f"/dashboard?date_from={first}&date_to={last}")
    qualified = next(row["qualified"] for row in analytics(server, "group_by=source&metrics=qualified") if row["source"] == "google")
    assert qualified > 0
    leads = page.locator("section.chart", has=page.get_by_role("heading", name="Where your leads come from"))
    google = leads.locator("tbody tr", has=page.locator("td", has_text=re.compile("^google$")))
    cost = google.locator("td[data-label='Cost per qualified lead']").inner_text()
    cents = (125_000 + qualified // 2) // qualified
    assert cost == f"${cents // 100:,}.{cents % 100:02}", cost

    # A report's rows are the API's, and its URL reproduces it in a new browser.
    page.goto(server.base + "/reports")
    page.get_by_label("First").select_option("source")
    page.get_by_label("Qualified leads").check()
    page.get_by_role("button", name="Show report").click()
    expect(page).to_have_url(re.compile(r"/reports\?group_by=source&metrics=count,qualified$"))
    page.get_by_role("link", name=re.compile(r"^Calls\W*sort")).click()
    report_url = page.url
    assert "sort=" in report_url
    rows = table_rows(page.locator("section.results table"))
    theirs = [[row["source"], str(row["count"]), str(row["qualified"])] for row in analytics(server, "group_by=source&metrics=count,qualified")]
    assert sorted(rows) == sorted(theirs), (rows, theirs)
    other = browser.new_context().new_page()
    sign_in(other, server, "maria@acme.test")
    other.goto(report_url)
    assert table_rows(other.locator("section.results table")) == rows

    # A viewer reads the spend and is offered no way to change it.
    other.goto(server.base + "/spend")
    expect(other.get_by_role("cell", name="$1,250.00")).to_be_visible()
    expect(other.get_by_role("button", name="Save spend")).to_have_count(0)
    expect(other.get_by_role("button", name=re.compile("^Remove"))).to_have_count(0)

    # The agency view: a client business added, each with its own figures.
    page.goto(server.base + "/businesses/new")
    page.get_by_label("Business name").fill("Riverside Dental")
    page.get_by_role("button", name="Add business").click()
    page.get_by_role("link", name="All businesses").click()
    rows = {row[0]: row[1:] for row in table_rows(page.locator("table"))}
    mine = stats(server)  # every call is today's, well within the last 30 days
    assert rows["My Business"][:2] == [str(mine["total_calls"]), str(mine["qualified_calls"])], rows
    assert rows["My Business"][3] == str(mine["missed_calls"]), rows
    assert rows["Riverside Dental"] == ["0", "0", "—", "0"], rows
    assert len(rows) == 2, rows
    page.get_by_role("button", name="Riverside Dental").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_label("Business")).to_have_value(re.compile(".+"))
    expect(page.locator("#business option:checked")).to_have_text("Riverside Dental")


def test_the_period_and_the_report_builder_work_with_the_keyboard_alone(server, browser):
    place_calls(server)
    create_user(server, "kim@acme.test", "manager", PASSWORD)
    page = browser.new_page()
    sign_in(page, server, "kim@acme.test")
    expect(page).to_have_url(re.compile(r"/dashboard$"))

    tab_to(page, "document.activeElement.textContent === '7 days'", "the 7 days preset")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/dashboard\?date_from=\d{4}-\d\d-\d\d&date_to="))
    tab_to(page, "document.activeElement.id === 'date_from'", "the first day")
    page.keyboard.type("11012026")
    tab_to(page, "document.activeElement.id === 'date_to'", "the last day")
    page.keyboard.type("11302026")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"date_from=2026-11-01&date_to=2026-11-30"))

    page.goto(server.base + "/reports")
    tab_to(page, "document.activeElement.id === 'group_by_0'", "the first grouping")
    page.keyboard.type("Status")
    tab_to(page, "document.activeElement.value === 'answered' && document.activeElement.type === 'checkbox'", "the answered metric")
    page.keyboard.press("Space")
    tab_to(page, "document.activeElement.textContent === 'Show report'", "the button")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/reports\?group_by=status&metrics=count,answered$"))
    statuses = sorted(row[0] for row in table_rows(page.locator("section.results table")))
    assert statuses == sorted(row["status"] for row in analytics(server, "group_by=status")), statuses
    # The sort is a heading's link, reached and followed by the keyboard.
    tab_to(page, "document.activeElement.textContent.startsWith('Answered')", "the Answered heading")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"sort=-answered"))
    assert urllib.parse.urlparse(page.url).path == "/reports"


def test_the_dashboards_figures_follow_new_calls_without_reading_the_charts_again(server, browser):
    place_calls(server)
    create_user(server, "kim@acme.test", "manager", PASSWORD)
    page = browser.new_page()
    sign_in(page, server, "kim@acme.test")
    calls = page.locator("dl.figures dt:text-is('Calls') + dd a")
    expect(calls).to_have_text("4")
    page.evaluate("window.unreloaded = true; document.querySelector('svg.chart-image').dataset.kept = 'yes'")
    asked = []
    page.on("request", lambda request: asked.append(request.headers.get("ringtrack-part")) if "/dashboard" in request.url else None)
    number = buy(server, "google", [{"type": "forward", "number": "+13055554567"}])
    server.api("POST", "/api/v1/sandbox/calls", {"from": "+13055559876", "to": number})
    expect(calls).to_have_text("5", timeout=5000)
    assert page.evaluate("window.unreloaded === true"), "the page was not reloaded"
    assert page.evaluate("document.querySelector('svg.chart-image').dataset.kept") == "yes", "the charts stay as drawn"
    assert asked and set(asked) == {"figures"}, asked
