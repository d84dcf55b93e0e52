"""What the tracking script costs a big page: a page of 10,000 elements that writes the
target number in 50 places, then changes 100 times a second for 10 seconds (a third of
the changes write the target again), in Debian's Chromium, with and without the script.
The page's own work is in both runs; the difference in Chromium's main-thread script time
(`Performance.getMetrics` ScriptDuration) is the script's. Prints a Markdown table."""

import http.server
import os
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "peer"))

from playwright.sync_api import sync_playwright  # noqa: E402

from conftest import CHROMIUM, running_server  # noqa: E402

TARGET = "(573) 555-0100"
MUTATIONS, RATE = 1000, 100

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Big page</title></head><body>
<p id="first">Call {target} today</p>
{body}
<script>
window.mutate = function (count, perSecond) {{
  var done = 0, box = document.getElementById("feed");
  var timer = setInterval(function () {{
    var p = document.createElement("p");
    p.textContent = done % 3 === 0 ? "Questions? Call 573-555-0100" : "Update " + done + ": nothing to swap here";
    box.appendChild(p);
    if (box.childNodes.length > 50) box.removeChild(box.firstChild);
    if (++done >= count) {{ clearInterval(timer); window.mutated = true; }}
  }}, 1000 / perSecond);
}};
</script>
{script}
</body></html>"""


def big_body():
    """1,000 sections of ten elements (10,000 in all), the target in every twentieth."""
    parts = []
    for i in range(1000):
        number = "573-555-0100" if i % 20 == 0 else "573-555-%04d" % (1000 + i)
        parts.append(f'<section><h3>Item {i}</h3><p>Text <b>bold</b> <i>it</i> and a <a href="#x">link</a></p>'
                     f'<ul><li>One</li><li>Two {number}</li></ul><span>{i}</span></section>')
    parts.append('<div id="feed"></div>')
    return "\n".join(parts)


def serve(html_with, html_without):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = (html_with if self.path == "/script" else html_without).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    return site


def measure(browser, url, swapped):
    page = browser.new_context().new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    script = lambda: {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}["ScriptDuration"]
    page.goto(url)
    if swapped:
        page.wait_for_function("!document.getElementById('first').textContent.includes('555-0100')", timeout=30000)
    time.sleep(2)
    loaded = script()
    page.evaluate(f"window.mutate({MUTATIONS}, {RATE})")
    page.wait_for_function("window.mutated === true", timeout=60000, polling=200)
    time.sleep(0.5)
    changed = script() - loaded
    if swapped:
        assert "555-0100" not in page.text_content("#first"), "the swap happened"
    nodes = page.evaluate("document.getElementsByTagName('*').length")
    assert not errors, errors
    page.context.close()
    return loaded, changed, nodes


def main():
    with running_server("sqlite") as server, sync_playwright() as p:
        numbers = [server.api("POST", "/api/v1/numbers/purchase", {"area_code": "573"})["data"]["id"] for _ in range(6)]
        pool = server.api("POST", "/api/v1/number-pools",
                          {"name": "Big", "number_ids": numbers, "target_number": TARGET})["data"]["number_pool"]["id"]
        body = big_body()
        tag = f'<script src="{server.base}/dni.js" data-pool="{pool}"></script>'
        site = serve(PAGE.format(target=TARGET, body=body, script=tag), PAGE.format(target=TARGET, body=body, script=""))
        base = "http://127.0.0.1:%d" % site.server_address[1]
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        runs = []
        for _ in range(3):
            runs.append((measure(browser, base + "/script", True), measure(browser, base + "/plain", False)))
        browser.close()
        site.shutdown()
    # The median run, by the script's cost under changes.
    runs.sort(key=lambda r: r[0][1] - r[1][1])
    (load_with, change_with, nodes), (load_without, change_without, _) = runs[1]
    load_ms = (load_with - load_without) * 1000
    per_change_us = (change_with - change_without) / MUTATIONS * 1e6
    share = (change_with - change_without) / (MUTATIONS / RATE) * 100
    print(f"| elements on the page | {nodes:,} |")
    print("| --- | ---: |")
    print(f"| the script's main-thread time to load, lease and swap the whole page | {load_ms:.1f} ms |")
    print(f"| its time per change ({RATE} changes a second, {MUTATIONS} in all) | {per_change_us:.0f} µs |")
    print(f"| its share of the main thread while the page changes {RATE} times a second | {share:.2f}% |")


if __name__ == "__main__":
    main()
