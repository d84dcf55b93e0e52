"""Pictures of every page of the web app at a desk's width (1280 px) and a phone's (375 px),
for the README: a fresh server on SQLite with a few sandbox calls, driven by Playwright."""

import json
import os
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "peer"))

from playwright.sync_api import sync_playwright  # noqa: E402

from conftest import CHROMIUM, eventually, running_server  # noqa: E402
from test_web_app import PASSWORD, create_user, sign_in, transcribed  # noqa: E402

OUT = os.path.join(ROOT, "docs", "screenshots")
WIDTHS = {"desk": 1280, "phone": 375}


def seed(server):
    """Three calls from three sources; answers the last one's id, once transcribed."""
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
        server.api("POST", "/api/v1/sandbox/sms", {"from": "+13125550187", "to": after_hours["phone_number"], "body": body})
    server.api("POST", "/api/v1/texts", {"from_number_id": after_hours["id"], "to": "+13125550187",
                                         "body": "Yes! A plumber can be there by 7 pm. Does that work?"})
    pool = server.api("POST", "/api/v1/number-pools", {"name": "Website", "number_ids": [],
                                                       "target_number": "5735550100"})["data"]["number_pool"]["id"]
    request = urllib.request.Request(server.base + "/dni/v1/forms", method="POST", data=json.dumps({
        "pool_id": pool, "form_name": "Free quote",
        "fields": {"name": "Ann Lee", "email": "ann@example.com", "phone": "(617) 555-0123",
                   "message": "Kitchen sink is clogged, afternoons are best."}}).encode())
    urllib.request.urlopen(request).read()
    if os.environ.get("RINGTRACK_TEST_WHISPER_MODEL"):
        for transcribed_call in (call_id, voicemail):
            eventually(lambda: transcribed(server, transcribed_call), "the transcription", 300)
    return call_id


def main():
    os.makedirs(OUT, exist_ok=True)
    with running_server("sqlite") as server, sync_playwright() as p:
        call_id = seed(server)
        invite = create_user(server, "sam@acme.test", "manager", name="Sam Rivera")
        create_user(server, "olivia@acme.test", "admin", PASSWORD, name="Olivia Owner")
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        shots = []

        def shoot(name):
            for width_name, width in WIDTHS.items():
                page.set_viewport_size({"width": width, "height": 800})
                path = os.path.join(OUT, f"{name}-{width_name}.png")
                page.screenshot(path=path, full_page=True)
                shots.append(path)

        page.goto(server.base + "/login")
        shoot("sign-in")
        page.goto(invite)
        shoot("invitation")
        sign_in(page, server, "olivia@acme.test")
        page.goto(server.base + "/calls")
        shoot("calls")
        page.goto(f"{server.base}/calls/{call_id}")
        shoot("call")
        page.goto(server.base + "/voicemails")
        shoot("voicemails")
        page.goto(server.base + "/texts/+13125550187")
        shoot("conversation")
        page.goto(server.base + "/forms")
        shoot("forms")
        page.goto(server.base + "/team")
        shoot("team")
        page.goto(server.base + "/account")
        shoot("two-factor")
        page.get_by_role("button", name="Set up two-factor sign-in").click()
        shoot("two-factor-setup")
        page.goto(server.base + "/businesses/new")
        shoot("add-business")
        browser.close()
    for path in shots:
        print(os.path.relpath(path, ROOT))


if __name__ == "__main__":
    started = time.time()
    main()
    print(f"done in {time.time() - started:.0f} s")
