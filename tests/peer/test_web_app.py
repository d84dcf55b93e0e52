"""The web app in a real browser (Debian's Chromium, driven by Playwright), on SQLite and on
PostgreSQL: an invited person sets a password and signs in, turns on two-factor and signs
in with a code, watches a new sandbox call appear in an open log, finds it through the filters, plays it, seeks it
from the transcript, marks it and reads the verdict back through the API; a viewer is
refused a write, a form without its CSRF token is refused, and a session that has gone
idle sends the person to sign in."""

import base64
import hashlib
import hmac
import json
import os
import re
import sqlite3
import struct
import subprocess
import time

import zxingcpp
from playwright.sync_api import expect

from conftest import BINARY, eventually, remember_secret

PASSWORD = "correct horse battery"


def create_user(server, email, role, password=None, name=None):
    """`ringtrack admin create-user`: answers the invitation URL (None with a password)."""
    command = [BINARY, "--data-dir", server.data_dir, "--database-url", server.database_url, "admin", "create-user",
               "--business", server.business, "--email", email, "--role", role, "--public-url", server.base]
    if name:
        command += ["--name", name]
    if password:
        command.append("--password-stdin")
    made = subprocess.run(command, input=password or "", capture_output=True, text=True, check=True)
    answer = json.loads(made.stdout)
    if answer.get("invite_url"):
        remember_secret(answer["invite_url"].rsplit("/", 1)[1])
    return answer.get("invite_url")


def sign_in(page, server, email):
    page.goto(server.base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def tab_to(page, predicate, what, limit=80):
    """Presses Tab until `predicate` (JavaScript) holds of the focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(predicate):
            return
    raise AssertionError(f"Tab never reached {what}")


def totp(secret, at=None, step_offset=0):
    """RFC 6238, as authenticator apps compute it (independent of the server's code)."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = int((at or time.time()) // 30) + step_offset
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000)


def scan_qr(page, selector):
    """What zxing-cpp reads in the element: the browser draws it to a canvas (4 px a module)
    and hands over its grey levels."""
    grey, width, height = page.eval_on_selector(selector, """async svg => {
        const image = new Image();
        image.src = "data:image/svg+xml;base64," + btoa(new XMLSerializer().serializeToString(svg));
        await image.decode();
        const side = svg.viewBox.baseVal.width * 4;
        const canvas = document.createElement("canvas");
        canvas.width = canvas.height = side;
        const context = canvas.getContext("2d");
        context.imageSmoothingEnabled = false;
        context.drawImage(image, 0, 0, side, side);
        const pixels = context.getImageData(0, 0, side, side).data;
        const grey = [];
        for (let i = 0; i < pixels.length; i += 4) grey.push(pixels[i]);
        return [grey, side, side];
    }""")
    found = zxingcpp.read_barcodes(memoryview(bytes(grey)).cast("B", (height, width)))
    assert len(found) == 1, f"{len(found)} codes found"
    return found[0].text


def sandbox_call(server):
    """A recorded sandbox call to a new number; waits until its recording is stored (and
    transcribed, when the run has the speech model). Answers the call's id."""
    number = server.number_with_flow([{"type": "greeting", "message": "Thanks for calling"},
                                      {"type": "forward", "number": "+13055554567"}], {"recording": True})
    placed = server.api("POST", "/api/v1/sandbox/calls", {"from": "+13055551234", "to": number})
    call_id = placed["data"]["call_id"]
    eventually(lambda: server.api("GET", f"/api/v1/calls/{call_id}")["data"]["has_recording"], "the recording", 60)
    return call_id


def transcribed(server, call_id):
    answer = server.api("GET", f"/api/v1/calls/{call_id}/transcription")["data"]["transcription"]
    return answer if answer["status"] in ("completed", "no_speech", "failed") else None


def run_sql(server, sql):
    if server.backend == "sqlite":
        with sqlite3.connect(server.database_url.removeprefix("sqlite://")) as db:
            db.execute(sql)
    else:
        subprocess.run(["psql", server.database_url, "-qc", sql], check=True, capture_output=True)


def test_a_person_works_a_call_in_the_app(server, browser):
    invite = create_user(server, "maria@acme.test", "manager")
    number = server.number_with_flow([{"type": "greeting", "message": "Thanks for calling"},
                                      {"type": "forward", "number": "+13055554567"}], {"recording": True})
    page = browser.new_page()

    # The invitation: a password once, then sign in.
    page.goto(invite)
    page.get_by_label("New password").fill(PASSWORD)
    page.get_by_role("button", name="Set password").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    sign_in(page, server, "maria@acme.test")
    # Signed in, the dashboard; with no calls yet, what to do first.
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("heading", name="No calls yet")).to_be_visible()
    calls = page.get_by_role("navigation", name="Main").get_by_role("link", name="Calls", exact=True)
    calls.click()
    expect(calls).to_have_attribute("aria-current", "page")
    expect(page.get_by_text("No calls yet.")).to_be_visible()

    # Live: a call placed now appears in the open log, without a reload, within 2 s.
    page.evaluate("window.unreloaded = true")
    call_id = server.api("POST", "/api/v1/sandbox/calls", {"from": "+13055551234", "to": number})["data"]["call_id"]
    expect(page.locator(f"#call-{call_id}")).to_be_visible(timeout=2000)
    expect(page.locator("#summary")).to_contain_text("1 call")
    assert page.evaluate("window.unreloaded === true"), "the page was not reloaded"
    eventually(lambda: server.api("GET", f"/api/v1/calls/{call_id}")["data"]["has_recording"], "the recording", 60)

    # The filters: missed shows nothing, answered shows the call; the URL carries them.
    page.get_by_label("Status").select_option("missed")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"status=missed"))
    expect(page.get_by_text("No calls match these filters.")).to_be_visible()
    page.get_by_label("Status").select_option("answered")
    page.get_by_label("Caller's digits").fill("5551234")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#summary")).to_contain_text("1 call")
    page.get_by_role("link", name="(305) 555-1234").click()
    expect(page).to_have_url(re.compile(f"/calls/{call_id}$"))

    # The player plays, and seeks by byte ranges.
    player = page.locator("#player")
    player.evaluate("audio => audio.play()")
    eventually(lambda: player.evaluate("audio => audio.currentTime") > 0.5, "the audio to play", 15)
    player.evaluate("audio => audio.pause()")

    # A transcript time seeks the player (when this run has the speech model, as scripts/test's does).
    if os.environ.get("RINGTRACK_TEST_WHISPER_MODEL"):
        done = eventually(lambda: transcribed(server, call_id), "the transcription", 180)
        assert done["status"] == "completed" and len(done["segments"]) > 1, done
        page.reload()
        target = done["segments"][-1]["start"]
        page.locator("a.seek").last.click()
        eventually(lambda: abs(page.locator("#player").evaluate("audio => audio.currentTime") - target) < 1.5,
                   "the player to seek to the segment", 10)

    # The verdict, read back through the API.
    assert server.api("GET", f"/api/v1/calls/{call_id}")["data"]["qualified"] is True
    page.get_by_role("button", name="Mark not qualified").click()
    expect(page.locator("#verdict")).to_contain_text("Marked not qualified by a person.")
    assert server.api("GET", f"/api/v1/calls/{call_id}")["data"]["qualified"] is False
    page.get_by_role("textbox", name="Notes").fill("Called back, booked Tuesday")
    page.get_by_role("textbox", name="Tags").fill("booked, callback")
    page.get_by_role("button", name="Save notes and tags").click()
    call = server.api("GET", f"/api/v1/calls/{call_id}")["data"]
    assert call["notes"] == "Called back, booked Tuesday" and call["tags"] == ["booked", "callback"]

    # A form posted without the session's CSRF token changes nothing.
    refused = page.evaluate("""async (path) => {
        const response = await fetch(path, {method: "POST", body: new URLSearchParams({qualified: "true"})});
        return response.status;
    }""", f"/calls/{call_id}/verdict")
    assert refused == 403
    assert server.api("GET", f"/api/v1/calls/{call_id}")["data"]["qualified"] is False

    # The CSV download holds what the log shows.
    page.goto(server.base + "/calls?status=answered")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    rows = open(download.value.path()).read().splitlines()
    assert len(rows) == 2 and rows[1].startswith(call_id)

    # An idle session sends the person to sign in.
    run_sql(server, "UPDATE sessions SET last_seen_at = 0")
    page.goto(server.base + "/calls")
    expect(page).to_have_url(re.compile(r"/login$"))


def test_two_factor_enrolment_and_sign_in(server, browser):
    create_user(server, "owen@acme.test", "admin", PASSWORD)
    page = browser.new_page()
    sign_in(page, server, "owen@acme.test")
    page.get_by_role("link", name="Your account").click()
    # Changing how one signs in asks for the password again.
    page.locator("#two-factor-password").fill("not my password")
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    expect(page.get_by_role("alert")).to_contain_text("That is not your password.")
    page.locator("#two-factor-password").fill(PASSWORD)
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    expect(page.get_by_role("img", name="QR code to scan with your authenticator app")).to_be_visible()
    secret = page.locator("#secret").inner_text().strip()
    remember_secret(secret)
    # The QR code scans, with a decoder of its own, to the address an authenticator takes.
    scanned = scan_qr(page, "svg.qr")
    assert scanned.startswith("otpauth://totp/ringtrack") and f"secret={secret}" in scanned, scanned
    page.get_by_label("Code", exact=True).fill("000000" if totp(secret) != "000000" else "111111")
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("alert")).to_contain_text("not the one your app shows")
    page.get_by_label("Code", exact=True).fill(totp(secret))
    page.get_by_role("button", name="Turn on").click()
    codes = page.get_by_role("list", name="Recovery codes").locator("li")
    expect(codes).to_have_count(10)
    for code in codes.all_inner_texts():
        remember_secret(code.strip())

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, server, "owen@acme.test")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    # The next step's code: the enrolment used this step's, and a code works once.
    page.get_by_label("Code", exact=True).fill(totp(secret, step_offset=1))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def test_a_viewer_sees_no_editing_controls_and_is_refused_a_write(server, browser):
    create_user(server, "vera@acme.test", "viewer", PASSWORD)
    call_id = sandbox_call(server)
    page = browser.new_page()
    sign_in(page, server, "vera@acme.test")
    page.goto(f"{server.base}/calls/{call_id}")
    expect(page.get_by_role("heading", name="(305) 555-1234")).to_be_visible()
    expect(page.get_by_role("button", name="Mark qualified")).to_have_count(0)
    expect(page.get_by_role("textbox", name="Notes")).to_have_count(0)
    # Even with the page's own CSRF token, the server refuses the write.
    status = page.evaluate("""async (path) => {
        const csrf = document.querySelector("input[name=csrf]").value;
        const response = await fetch(path, {method: "POST", body: new URLSearchParams({csrf, qualified: "false"})});
        return response.status;
    }""", f"/calls/{call_id}/verdict")
    assert status == 403
    assert server.api("GET", f"/api/v1/calls/{call_id}")["data"]["qualified"] is True
