"""Our webhook signatures checked by an independent implementation (Python's hmac), as a
receiver would check them: HMAC-SHA256 of "t.body" with the endpoint's secret."""

import hashlib
import hmac
import http.server
import json
import threading
import time


def test_a_receiver_verifies_deliveries_with_pythons_hmac(server):
    received = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers["Ringtrack-Signature"], self.headers["Ringtrack-Event-Id"], body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/hook" % site.server_address[1]
    hook = server.api("POST", "/api/v1/webhooks", {"url": url, "events": ["call.completed"]})["data"]["webhook"]
    server.api("POST", "/api/v1/webhooks/%s/test" % hook["id"], {})
    deadline = time.time() + 20
    while not received and time.time() < deadline:
        time.sleep(0.05)
    assert received, "no delivery arrived"
    signature, event_id, body = received[0]
    parts = dict(p.split("=", 1) for p in signature.split(","))
    expected = hmac.new(hook["secret"].encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    assert abs(int(parts["t"]) - time.time()) < 60
    event = json.loads(body)
    assert (event["id"], event["type"]) == (event_id, "webhook.test")
    site.shutdown()
