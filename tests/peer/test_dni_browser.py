"""The tracking script in a real browser (Debian's Chromium, driven by Playwright): a page
served from another origin shows the visit's pool number wherever the site's number is
written, in the way it was written, including content added later; another visitor gets
another number; a form submitted on the page, and then a call to the number shown, carry
the visit's ad attribution."""

import http.server
import json
import re
import threading

from conftest import eventually

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
<form id="quote" name="quote" action="/thanks" method="post">
  <input name="name"><input name="email"><input name="phone"><input type="password" name="password">
  <input name="cc.num"><input name="user_pin"><input name="api_token"><textarea name="message"></textarea>
  <button id="send" type="submit">Get a quote</button>
</form>
<script src="{base}/dni.js" data-pool="{pool}" async></script>
</body></html>"""


def serve_site(html):
    """A website on another origin than the server: the page, and a thank-you page."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def respond(self):
            body = (html if self.path.startswith("/?") or self.path == "/" else "<p>Thanks</p>").encode()
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
