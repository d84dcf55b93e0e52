"""The tracking script in a real browser (Debian's Chromium, driven by Playwright): a page
served from another origin shows the visit's pool number wherever the site's number is
written, in the way it was written, including content added later; another visitor gets
another number; a form submitted on the page, and then a call to the number shown, carry
the visit's ad attribution."""

import http.server
import json
import re
import threading

from playwright.sync_api import expect

from conftest import eventually
from test_web_app import PASSWORD, create_user, sign_in

TARGET = "(573) 555-0100"
QUERY = "?utm_source=google&utm_medium=cpc&utm_campaign=plumbing&gclid=abc123"

PAGE = """<!doctype html><html><head><title>Acme Plumbing</title></head><body>
<p id="parens">Call {target} today</p>
<p id="dashes">573-555-0100</p>
<p id="dots">573.555.0100</p>
<p id="intl">+1 573 555 0100</p>
<p id="bare">5735550100</p>
<p id="other">Fax: 573-555-0199</p>
<a id="tel" href="tel:+15735550100">Tap to call</a>
<p id="nbsp">573&nbsp;555&nbsp;0100</p>
<p id="nbhyphen">573‑555‑0100</p>
<p id="endash">573–555–0100</p>
<p id="stops">573. 555. 0100</p>
<a id="onclick" href="#" onclick="location.href='tel:+15735550100'; return false;">Call now</a>
<span id="marked" data-phone="5735550100" aria-label="Call 573-555-0100" title="(573) 555-0100">Call us</span>
<meta id="schema" itemprop="telephone" content="+1-573-555-0100">
<p id="split1">Call <span class="ac">(573)</span> 555-0100</p>
<p id="split2"><b>573</b>-555-0100</p>
<p id="split3"><span>5</span><span>7</span><span>3</span>-<span>555</span>-<span>0100</span></p>
<code id="code">573-555-0100</code>
<div id="editable" contenteditable="true">573-555-0100</div>
<input id="typed" value="573-555-0100">
<textarea id="note">Call 573-555-0100</textarea>
<style id="css">/* 573-555-0100 */ #code {{ color: #333; }}</style>
<script id="ld" type="application/ld+json">{{"@type": "Plumber", "telephone": "573-555-0100"}}</script>
<form id="quote" name="quote" action="/thanks" method="post">
  <input name="name"><input name="email"><input name="phone"><input type="password" name="password">
  <input name="cc.num"><input name="user_pin"><input name="api_token"><textarea name="message"></textarea>
  <button id="send" type="submit">Get a quote</button>
</form>
<script src="{base}/dni.js" data-pool="{pool}" async></script>
</body></html>"""


def serve_site(html, pages=None):
    """A website on another origin than the server: the page at `/`, any other `pages` by
    path, and a thank-you page."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def respond(self):
            path = self.path.split("?")[0]
            body = (html if path == "/" else (pages or {}).get(path, "<p>Thanks</p>")).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = respond
        do_POST = respond

        def log_message(self, *args):
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    return site


def digits(text):
    return re.sub(r"\D", "", text)


def test_the_script_swaps_numbers_tracks_forms_and_attributes_the_call(server, browser):
    numbers = [server.api("POST", "/api/v1/numbers/purchase", {"area_code": "573"})["data"]["id"] for _ in range(2)]
    pool = server.api("POST", "/api/v1/number-pools",
                      {"name": "Website", "number_ids": numbers, "target_number": TARGET})["data"]["number_pool"]
    site = serve_site(PAGE.format(target=TARGET, base=server.base, pool=pool["id"]))
    url = "http://127.0.0.1:%d/%s" % (site.server_address[1], QUERY)

    page = browser.new_context().new_page()
    # A beacon's body cannot be read from outside the page; refused, as a browser does when
    # its beacon queue is full, the script posts the form with fetch, whose body can.
    page.add_init_script("navigator.sendBeacon = function () { return false; };")
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_function("!document.getElementById('bare').textContent.includes('5735550100')", timeout=15000)
    leased = page.text_content("#bare").strip()
    assert re.fullmatch(r"573\d{7}", leased) and leased != "5735550100", leased
    area, exchange, line = leased[:3], leased[3:6], leased[6:]
    assert page.text_content("#parens") == "Call (%s) %s-%s today" % (area, exchange, line)
    assert page.text_content("#dashes") == "%s-%s-%s" % (area, exchange, line)
    assert page.text_content("#dots") == "%s.%s.%s" % (area, exchange, line)
    assert page.text_content("#intl") == "+1 %s %s %s" % (area, exchange, line)
    assert page.text_content("#other") == "Fax: 573-555-0199", "other numbers are left alone"
    assert page.get_attribute("#tel", "href") == "tel:+1" + leased
    # Typographic separators, kept as they were.
    assert page.text_content("#nbsp") == "%s\u00a0%s\u00a0%s" % (area, exchange, line)
    assert page.text_content("#nbhyphen") == "%s\u2011%s\u2011%s" % (area, exchange, line)
    assert page.text_content("#endash") == "%s\u2013%s\u2013%s" % (area, exchange, line)
    assert page.text_content("#stops") == "%s. %s. %s" % (area, exchange, line)
    # Attributes people click or read, and schema.org's telephone.
    assert page.get_attribute("#onclick", "onclick") == "location.href='tel:+1%s'; return false;" % leased
    assert page.get_attribute("#marked", "data-phone") == leased
    assert page.get_attribute("#marked", "aria-label") == "Call %s-%s-%s" % (area, exchange, line)
    assert page.get_attribute("#marked", "title") == "(%s) %s-%s" % (area, exchange, line)
    assert page.get_attribute("#schema", "content") == "+1-%s-%s-%s" % (area, exchange, line)
    # Split across elements for styling: each element keeps its part.
    assert page.text_content("#split1") == "Call (%s) %s-%s" % (area, exchange, line)
    assert page.text_content("#split1 .ac") == "(%s)" % area
    assert page.text_content("#split2 b") == area and page.text_content("#split2") == "%s-%s-%s" % (area, exchange, line)
    assert [s for s in page.eval_on_selector_all("#split3 span", "spans => spans.map(s => s.textContent)")] == \
        [area[0], area[1], area[2], exchange, line]
    # Never what is shown as code, what the visitor edits or types.
    assert page.text_content("#code") == "573-555-0100"
    assert page.text_content("#editable") == "573-555-0100"
    assert page.input_value("#typed") == "573-555-0100"
    assert page.input_value("#note") == "Call 573-555-0100"
    assert "573-555-0100" in page.text_content("#css") and "573-555-0100" in page.text_content("#ld")

    # Each page view says whether the target could still be read after the swap: here
    # yes (the code sample keeps it, as it must).
    pool_pages = lambda: server.api("GET", "/api/v1/number-pools/" + pool["id"])["data"]["number_pool"]["pages"]
    home = eventually(lambda: [p for p in pool_pages() if p["url"].endswith("/")], "the page view's report")
    assert (home[0]["views"], home[0]["target_visible_views"]) == (1, 1), home
    assert "?" not in home[0]["url"], "never the visitor's query"

    # A single-page app changes route and renders anew: the visit keeps its number, the new
    # content is swapped, and the route's page view is reported (the target gone now).
    page.evaluate("""() => {
        for (const id of ['code', 'editable']) document.getElementById(id).remove();
        history.pushState({}, '', '/pricing?utm_source=spa');
        document.body.insertAdjacentHTML('beforeend', '<p id="spa">Book at 573-555-0100</p>');
    }""")
    page.wait_for_function("document.getElementById('spa').textContent.includes('%s-%s-%s')" % (area, exchange, line),
                           timeout=10000)
    route = eventually(lambda: [p for p in pool_pages() if p["url"].endswith("/pricing")], "the route's report")
    assert (route[0]["views"], route[0]["target_visible_views"]) == (1, 0), route
    assert page.text_content("#bare").strip() == leased, "the visit keeps its number"

    # Content added after load (a popup, a single-page app) is swapped too.
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<div id=\"late\">Questions? 573-555-0100</div>')")
    page.wait_for_function("document.getElementById('late').textContent.includes('%s-%s-%s')" % (area, exchange, line),
                           timeout=10000)

    # Another visitor (another browser profile) is shown the other number.
    other = browser.new_context().new_page()
    other.goto(url)
    other.wait_for_function("!document.getElementById('bare').textContent.includes('5735550100')", timeout=15000)
    assert other.text_content("#bare").strip() not in (leased, "5735550100")

    # A form submitted on the page is captured without being blocked.
    page.fill("input[name=name]", "Jane Doe")
    page.fill("input[name=email]", "jane@example.com")
    page.fill("input[name=phone]", "573-555-0142")
    page.fill("input[name=password]", "hunter2")
    page.fill("input[name='cc.num']", "4111 1111 1111 1111")
    page.fill("input[name=user_pin]", "1234")
    page.fill("input[name=api_token]", "tok_live_123")
    page.fill("textarea[name=message]", "My card is 4111-1111-1111-1111 exp 12/29, SSN 123-45-6789. Leaky tap.")
    sent = []
    page.on("request", lambda r: sent.append(r.post_data) if "/dni/v1/forms" in r.url else None)
    page.click("#send")
    page.wait_for_url("**/thanks", timeout=10000)
    form = eventually(lambda: (server.api("GET", "/api/v1/forms")["data"]["forms"] or [None])[0], "the form")
    assert (form["name"], form["email"], form["phone"]) == ("Jane Doe", "jane@example.com", "+15735550142")
    assert (form["utm_source"], form["utm_medium"], form["utm_campaign"], form["gclid"]) == ("google", "cpc", "plumbing", "abc123")
    assert form["form_name"] == "quote"
    assert "password" not in form["fields"]
    # What the script itself sent: no secret left the page.
    assert len(sent) == 1 and sent[0], sent
    posted = json.loads(sent[0])["fields"]
    assert not {"password", "cc.num", "user_pin", "api_token"} & posted.keys(), posted
    assert posted["message"] == "My card is [redacted] exp 12/29, SSN [redacted]. Leaky tap.", posted
    assert form["fields"]["message"] == posted["message"]
    assert "gclid=abc123" in form["landing_page"]

    # The call to the number the visitor saw carries the visit's attribution.
    placed = server.api("POST", "/api/v1/sandbox/calls", {"from": "+13055551234", "to": "+1" + leased})["data"]
    call = server.api("GET", "/api/v1/calls/" + placed["call_id"])["data"]
    assert (call["utm_source"], call["gclid"]) == ("google", "abc123")
    assert call["landing_page"].endswith(QUERY)
    assert call["session_id"] == form["session_id"]
    assert errors == [], errors
    site.shutdown()


SWAPPED_IN_PLACE = """<!doctype html><html><head><title>Acme</title></head><body>
<p id="sel">Call 573-555-0100 now or write to us</p>
<button id="call" type="button">Call 573-555-0100</button>
<input id="name" aria-label="Your name" value="Ann">
<script>
  window.clicks = 0;
  document.getElementById("call").addEventListener("click", () => { window.clicks += 1; });
</script>
</body></html>"""


def test_a_swap_keeps_the_visitors_selection_focus_and_the_pages_event_handlers(server, browser):
    numbers = [server.api("POST", "/api/v1/numbers/purchase", {"area_code": "573"})["data"]["id"]]
    pool = server.api("POST", "/api/v1/number-pools",
                      {"name": "Website", "number_ids": numbers, "target_number": TARGET})["data"]["number_pool"]
    site = serve_site(SWAPPED_IN_PLACE)
    page = browser.new_context().new_page()
    page.goto("http://127.0.0.1:%d/" % site.server_address[1])
    # The visitor is typing in a field and has selected words after the number (in the very
    # text node the swap changes) when the script arrives.
    page.evaluate("""([base, pool]) => {
        window.button = document.getElementById("call");
        window.textNode = document.getElementById("sel").firstChild;
        document.getElementById("name").focus();
        const words = window.textNode, range = document.createRange();
        range.setStart(words, words.data.indexOf("now"));
        range.setEnd(words, words.data.indexOf("now") + "now or write".length);
        getSelection().removeAllRanges();  // the field's caret
        getSelection().addRange(range);
        const script = document.createElement("script");
        script.src = base + "/dni.js";
        script.dataset.pool = pool;
        document.body.append(script);
    }""", [server.base, pool["id"]])
    page.wait_for_function("!document.getElementById('call').textContent.includes('573-555-0100')", timeout=15000)
    assert "573-555-0100" not in page.text_content("#sel")
    kept = page.evaluate("""() => ({
        selection: getSelection().toString(),
        focused: document.activeElement.id,
        sameButton: document.getElementById("call") === window.button,
        sameText: document.getElementById("sel").firstChild === window.textNode,
    })""")
    assert kept == {"selection": "now or write", "focused": "name", "sameButton": True, "sameText": True}, kept
    page.click("#call")
    assert page.evaluate("window.clicks") == 1, "the page's own handler still runs"


DEEPLY_SPLIT = """<!doctype html><html><head><title>Contact</title></head><body>
<p><b>Call</b> <span>5</span><span>7</span><span>3</span>-<span>5</span><span>5</span><span>5</span>-<span>0</span><span>1</span><span>0</span><span>0</span> <small>24/7</small> <em>free</em></p>
<script src="{base}/dni.js" data-pool="{pool}" async></script>
</body></html>"""


def test_a_site_owner_copies_the_tag_from_the_app_and_sees_which_pages_it_misses(server, browser):
    numbers = [server.api("POST", "/api/v1/numbers/purchase", {"area_code": "573"})["data"]["id"] for _ in range(2)]
    pool = server.api("POST", "/api/v1/number-pools",
                      {"name": "Website visitors", "number_ids": numbers, "target_number": TARGET})["data"]["number_pool"]
    create_user(server, "olivia@acme.test", "admin", PASSWORD)
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base)
    app = context.new_page()
    sign_in(app, server, "olivia@acme.test")
    app.get_by_role("navigation", name="Main").get_by_role("link", name="Website tracking").click()
    app.get_by_role("link", name="Website visitors").click()
    expect(app.get_by_role("heading", name="Website visitors")).to_be_visible()
    expect(app.get_by_text("No pages yet")).to_be_visible()
    app.get_by_role("button", name="Copy the tag", exact=True).focus()
    app.keyboard.press("Enter")
    expect(app.locator("button[data-copy=script-tag]")).to_have_text("Copied")
    tag = app.evaluate("navigator.clipboard.readText()")
    assert tag == app.get_by_label("Paste before </body>").input_value(), tag
    assert tag.startswith("<script src=") and pool["id"] in tag, tag

    # The tag pasted into two pages of the site: one writes the number plainly, the other
    # splits it over more elements than the script reads together (a digit a span).
    site = serve_site("<p>Call %s today</p>%s" % (TARGET, tag),
                      {"/contact": DEEPLY_SPLIT.replace("{base}", server.base).replace("{pool}", pool["id"])})
    visitor = browser.new_context().new_page()
    home = "http://127.0.0.1:%d/" % site.server_address[1]
    visitor.goto(home)
    visitor.wait_for_function("!document.body.innerText.includes('%s')" % TARGET, timeout=15000)
    pages = lambda: server.api("GET", "/api/v1/number-pools/" + pool["id"])["data"]["number_pool"]["pages"]
    eventually(pages, "the home page's report")  # sent once the page has settled
    visitor.goto(home + "contact")
    visitor.wait_for_timeout(1000)
    expect(visitor.locator("p")).to_have_text("Call 573-555-0100 24/7 free")  # missed: still the site's number

    def pages_shown():
        app.reload()
        rows = app.locator("table tbody tr")
        return rows.count() == 2 and [rows.nth(i).inner_text() for i in range(2)]
    rows = eventually(pages_shown, "both pages in the pool's page", 20)
    contact = next(r for r in rows if "/contact" in r)
    assert "Still showing" in contact and "on 1 of 1 view" in contact, contact
    root = next(r for r in rows if "/contact" not in r)
    assert "Replaced" in root and "Still showing" not in root, root
    app.get_by_role("navigation", name="Main").get_by_role("link", name="Website tracking").click()
    expect(app.get_by_text("1 still showing your number")).to_be_visible()
