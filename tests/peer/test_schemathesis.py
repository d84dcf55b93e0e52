"""schemathesis generates requests from /api/v1/openapi.json for every documented operation
(examples, boundary values, fuzzed and stateful sequences) with a valid key, and checks
each answer: no 5xx, every status documented, every body and header matching its schema.
Its stateful phase follows the document's links (a number bought, then read, changed,
called and released), so operations that take an id are reached with real ids and valid
data; the test fails unless every documented operation answered 2xx at least once.

Not checked: that every request the schema allows is accepted (schemathesis's
positive_data_acceptance): the API refuses, with 422 naming the field, values that JSON
Schema cannot describe (a phone number that is not dialable, an unknown time zone, a
call flow that loops), so those refusals are intended.

One worker: with two, hypothesis parses lambda sources in two threads at once, which
CPython 3.11 before 3.11.8 can fail with "SystemError: AST constructor recursion depth
mismatch" (about one run in five here) - a runtime error inside schemathesis, not a
finding about the API."""

import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
])

METHODS = ("get", "put", "post", "delete", "patch")


def operations(server):
    """Every documented operation: (METHOD, path template, a regex matching its URLs)."""
    with urllib.request.urlopen(server.base + "/api/v1/openapi.json") as response:
        document = json.loads(response.read())
    prefix = urllib.parse.urlparse(document.get("servers", [{"url": ""}])[0]["url"]).path.rstrip("/")
    found = []
    for path, item in document["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(prefix + path)) + "$")
        found.extend((method.upper(), path, pattern) for method in METHODS if method in item)
    return found


def answered_2xx(har_path, documented):
    """The documented operations that answered 2xx at least once in the HAR file."""
    with open(har_path) as har:
        entries = json.load(har)["log"]["entries"]
    reached = set()
    for entry in entries:
        if not 200 <= entry["response"]["status"] < 300:
            continue
        method = entry["request"]["method"]
        path = urllib.parse.urlparse(entry["request"]["url"]).path
        for op_method, template, pattern in documented:
            # A literal path (/calls/export) wins over a template (/calls/{id}).
            if op_method == method and pattern.match(path):
                reached.add((op_method, template))
                if "{" not in template:
                    break
    return reached


def test_every_documented_operation_holds_under_generated_input(server):
    schemathesis = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    work = tempfile.mkdtemp(prefix="ringtrack-schemathesis-")
    har = os.path.join(work, "run.har")
    result = subprocess.run(
        [schemathesis, "run", server.base + "/api/v1/openapi.json", "-H", "Authorization: Bearer " + server.key,
         "--checks", CHECKS, "--max-examples", "10", "--workers", "1", "--seed", "42",
         "--report", "har", "--report-har-path", har],
        capture_output=True, text=True, timeout=900,
        # schemathesis keeps a cache in its working directory: not in the repository.
        cwd=work)
    summary = result.stdout[-3000:]
    print(summary)
    # On failure, what schemathesis found (its ERRORS / FAILURES sections) before the summary.
    found = [result.stdout.find(f"= {section} =") for section in ("ERRORS", "FAILURES")]
    start = min([i for i in found if i >= 0], default=0)
    assert result.returncode == 0, result.stdout[start:start + 6000] + "\n…\n" + summary
    assert "generated" in summary and " passed" in summary, summary

    documented = operations(server)
    reached = answered_2xx(har, documented)
    share = f"{len(reached)}/{len(documented)} documented operations answered 2xx at least once"
    print(share)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    logs = os.environ.get("RINGTRACK_TEST_LOG_DIR", os.path.join(root, "target", "test-logs"))
    os.makedirs(logs, exist_ok=True)
    with open(os.path.join(logs, "schemathesis-reach.txt"), "a") as out:
        out.write(f"{server.backend}: {share}\n")
    missing = sorted(f"{m} {t}" for m, t, _ in documented if (m, t) not in reached)
    assert not missing, share + "; never 2xx:\n" + "\n".join(missing)
