"""A tour of every page of the web app, on a server given something to show: calls (one
transcribed when the run has the speech model), a voicemail, a conversation, a form, a
website pool with the pages its script ran on, a team, and the words transcripts are
primed with. `scripts/screenshots` photographs each stop; the accessibility test checks
each with axe-core. One list, so a new page is photographed and checked alike."""

import datetime
import json
import os
import subprocess
import urllib.request

from conftest import BINARY, eventually, remember_secret
from test_web_app import PASSWORD, create_user, sign_in, transcribed

CONTACT = "+13125550187"


def seed(server):
    """Something on every page; answers the id of a call with a recording (and transcript)."""
    flow = server.api("POST", "/api/v1/call-flows", {
        "name": "Main line", "settings": {"recording": True},
        "steps": [{"type": "greeting", "message": "Thanks for calling Acme Plumbing"},
                  {"type": "forward", "number": "+13055554567"}]})["data"]["call_flow"]["id"]
    call_id = None
    for source, caller in [("facebook", "+13125550187"), ("bing", "+16175550123"), ("google", "+13055551234")]:
        number = server.api("POST", "/api/v1/numbers/purchase", {
            "area_code": "573", "friendly_name": source.title() + " Ads", "source": source, "call_flow_id": flow})
        call_id = server.api("POST", "/api/v1/sandbox/calls",
                             {"from": caller, "to": number["data"]["phone_number"]})["data"]["call_id"]
    voicemail_flow = server.api("POST", "/api/v1/call-flows", {
        "name": "After hours", "steps": [{"type": "voicemail", "message": "Leave us a message"}]})["data"]["call_flow"]["id"]
    after_hours = server.api("POST", "/api/v1/numbers/purchase", {
        "area_code": "573", "friendly_name": "After hours", "call_flow_id": voicemail_flow})["data"]
    voicemail = server.api("POST", "/api/v1/sandbox/calls", {
        "from": "+14155550142", "to": after_hours["phone_number"],
        "voicemail_text": "Hi, this is Dana. Our water heater is leaking. Please call me back."})["data"]["call_id"]
    for body in ["Hi, do you do emergency drain cleaning?", "Tonight if possible"]:
        server.api("POST", "/api/v1/sandbox/sms", {"from": CONTACT, "to": after_hours["phone_number"], "body": body})
    server.api("POST", "/api/v1/texts", {"from_number_id": after_hours["id"], "to": CONTACT,
                                         "body": "Yes! A plumber can be there by 7 pm. Does that work?"})
    pool_numbers = [server.api("POST", "/api/v1/numbers/purchase", {"area_code": "573", "friendly_name": "Website"})
                    ["data"]["id"] for _ in range(3)]
    pool = server.api("POST", "/api/v1/number-pools", {"name": "Website visitors", "number_ids": pool_numbers,
                                                       "target_number": "5735550100"})["data"]["number_pool"]["id"]
    visit = public(server, "/dni/v1/sessions", {"pool_id": pool, "visitor_id": "tour-visitor",
                                                "landing_page": "https://acme.test/drains?utm_source=google&utm_campaign=drains"})
    # The visitor calls the number the site showed them: a call with its landing page.
    server.api("POST", "/api/v1/sandbox/calls", {"from": "+16175550199", "to": visit["number"]})
    server.api("PUT", "/api/v1/ad-spend", {"month": this_month(), "source": "google", "campaign": None,
                                           "amount_cents": 125000})
    public(server, "/dni/v1/forms", {
        "pool_id": pool, "form_name": "Free quote",
        "fields": {"name": "Ann Lee", "email": "ann@example.com", "phone": "(617) 555-0123",
                   "message": "Kitchen sink is clogged, afternoons are best."}})
    server.api("PUT", "/api/v1/transcription/terms", {"terms": ["Kohler", "Rheem", "tankless water heater", "Jefferson City"]})
    for url, still_showing in [("https://acme.test/", False), ("https://acme.test/drains", False),
                               ("https://acme.test/contact", True)]:
        public(server, "/dni/v1/pages", {"pool_id": pool, "url": url, "target_visible": still_showing})
    eventually(lambda: server.api("GET", f"/api/v1/calls/{call_id}")["data"]["has_recording"], "the recording", 60)
    if os.environ.get("RINGTRACK_TEST_WHISPER_MODEL"):
        for transcribed_call in (call_id, voicemail):
            eventually(lambda: transcribed(server, transcribed_call), "the transcription", 300)
    return call_id, pool


def public(server, path, payload):
    """What the website script sends: JSON as text, no key; answers the JSON it gets (if any)."""
    request = urllib.request.Request(server.base + path, method="POST", data=json.dumps(payload).encode())
    body = urllib.request.urlopen(request).read()
    return json.loads(body) if body else None


def this_month():
    """`2026-12`: the month the server's calls of today fall in (the test business keeps UTC)."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m")


def operator(server, *args, stdin=""):
    """`ringtrack admin …` on the server's database; answers its JSON."""
    command = [BINARY, "--data-dir", server.data_dir, "--database-url", server.database_url, "admin", *args]
    answer = json.loads(subprocess.run(command, input=stdin, capture_output=True, text=True, check=True).stdout)
    for secret in (answer.get("api_key"), (answer.get("invite_url") or "").rsplit("/", 1)[-1]):
        if secret:
            remember_secret(secret)
    return answer


def tour(server, page, stop):
    """Visits every page in `page` (a Playwright page), calling `stop(name)` at each."""
    call_id, pool = seed(server)
    invite = create_user(server, "sam@acme.test", "manager", name="Sam Rivera")
    create_user(server, "olivia@acme.test", "admin", PASSWORD, name="Olivia Owner")
    # Another business: it invites Olivia (who answers from her list or its link), and one
    # of its people is invited here (the team page's invitations waiting).
    riverside = operator(server, "create-business", "--name", "Riverside Dental")["business_id"]
    join = operator(server, "create-user", "--business", riverside, "--email", "olivia@acme.test", "--role", "viewer",
                    "--public-url", server.base)
    operator(server, "create-user", "--business", riverside, "--email", "pat@riverside.test", "--role", "admin",
             "--password-stdin", stdin=PASSWORD)
    create_user(server, "pat@riverside.test", "viewer")

    page.goto(server.base + "/login")
    stop("sign-in")
    page.goto(server.base + "/password/forgot")
    stop("forgot-password")
    page.goto(server.welcome)
    stop("welcome")
    page.goto(invite)
    stop("invitation")
    sign_in(page, server, "olivia@acme.test")
    page.goto(server.base + "/reports?group_by=source,utm_campaign&metrics=count,qualified,qualified_pct,avg_duration")
    page.get_by_label("Save this report as").fill("Leads by source and campaign")
    page.get_by_role("button", name="Save report").click()
    stop("reports")
    for name, path in [("dashboard", "/dashboard"), ("spend", "/spend"), ("calls", "/calls"), ("call", f"/calls/{call_id}"), ("voicemails", "/voicemails"),
                       ("texts", "/texts"), ("conversation", f"/texts/{CONTACT}"), ("forms", "/forms"),
                       ("website", "/website"), ("pool", f"/website/{pool}"), ("team", "/team"),
                       ("settings", "/settings"), ("invitations", "/invitations"), ("account", "/account")]:
        page.goto(server.base + path)
        stop(name)
    page.locator("#two-factor-password").fill(PASSWORD)
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    stop("two-factor-setup")
    page.goto(server.base + "/businesses/new")
    stop("add-business")
    page.goto(join["invite_url"])
    stop("join")
    page.get_by_role("button", name="Join Riverside Dental").click()
    page.goto(server.base + "/businesses")
    stop("businesses")
