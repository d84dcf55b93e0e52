"""A real ringtrack server for the peer tests, on SQLite and on PostgreSQL.

The server is the binary `cargo test` builds (target/debug/ringtrack), started on port 0
with a fresh data dir and database; the tests drive it over HTTP like any client.
"""

import contextlib
import json
import urllib.error
import urllib.parse
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
import uuid

import pytest
from playwright.sync_api import sync_playwright

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("RINGTRACK_BIN", os.path.join(ROOT, "target", "debug", "ringtrack"))
TOKEN = "peer-test-auth-token"
# Debian's Chromium: the browser tests drive the system's, never a downloaded one.
CHROMIUM = "/usr/bin/chromium"
POSTGRES = os.environ.get("RINGTRACK_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
# Every server of the test run logs here, and every secret it is given is written down beside
# the logs: tests/logs checks at the end of the run that no log holds any of them.
RUN_LOGS = os.environ.get("RINGTRACK_TEST_LOG_DIR", os.path.join(ROOT, "target", "test-logs"))


def remember_secret(secret):
    os.makedirs(RUN_LOGS, exist_ok=True)
    with open(os.path.join(RUN_LOGS, "secrets.txt"), "a") as secrets:
        secrets.write(secret + "\n")


def _remember_secrets_in(answer):
    """Every API key and webhook secret an answer hands out."""
    if isinstance(answer, dict):
        for name, value in answer.items():
            if name in ("key", "secret") and isinstance(value, str):
                remember_secret(value)
            else:
                _remember_secrets_in(value)
    elif isinstance(answer, list):
        for value in answer:
            _remember_secrets_in(value)


class Server:
    def __init__(self, base, key, business, data_dir, database_url, backend, welcome):
        self.base = base
        # The first start's one-time link into the web app (unused until a test opens it).
        self.welcome = welcome
        self.backend = backend
        self.key = key
        self.business = business
        self.data_dir = data_dir
        self.database_url = database_url
        # The server's process id, for what it costs the machine (its resident memory).
        self.pid = None

    def api(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", "Bearer " + self.key)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request) as response:
            answer = json.loads(response.read())
        _remember_secrets_in(answer)
        return answer

    def post_form(self, path, params, signature):
        data = urllib.parse.urlencode(params).encode()
        request = urllib.request.Request(self.base + path, data=data, method="POST")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        if signature is not None:
            request.add_header("X-Twilio-Signature", signature)
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def number_with_flow(self, steps, settings=None):
        """Buys a number and routes it through a new flow made of `steps`."""
        flow = self.api("POST", "/api/v1/call-flows", {"name": "Peer", "steps": steps, "settings": settings or {}})
        number = self.api("POST", "/api/v1/numbers/purchase",
                          {"area_code": "573", "call_flow_id": flow["data"]["call_flow"]["id"]})
        return number["data"]["phone_number"]


def _psql(sql):
    subprocess.run(["psql", POSTGRES, "-qc", sql], check=True, capture_output=True)


@contextlib.contextmanager
def running_server(backend, extra_env=None):
    """A ringtrack server on `backend` with a fresh database, its first business credited."""
    data_dir = tempfile.mkdtemp(prefix="ringtrack-peer-")
    database = None
    if backend == "postgres":
        database = "ringtrack_peer_" + uuid.uuid4().hex
        _psql(f"CREATE DATABASE {database}")
        database_url = POSTGRES.rsplit("/", 1)[0] + "/" + database
    else:
        database_url = "sqlite://" + os.path.join(data_dir, "ringtrack.db")
    env = dict(os.environ, RINGTRACK_TWILIO_AUTH_TOKEN=TOKEN, RINGTRACK_LOG="debug", RINGTRACK_ALLOW_HTTP_WEBHOOKS="1",
               RINGTRACK_JOB_POLL_MILLIS="50", RINGTRACK_API_RATE="100000", RINGTRACK_API_BURST="100000",
               **(extra_env or {}))
    # The offline speech model, when the run prepared one (scripts/test does): recordings
    # are then transcribed, as in service.
    if os.environ.get("RINGTRACK_TEST_WHISPER_MODEL"):
        env["RINGTRACK_WHISPER_MODEL"] = os.environ["RINGTRACK_TEST_WHISPER_MODEL"]
    os.makedirs(RUN_LOGS, exist_ok=True)
    log = tempfile.NamedTemporaryFile(dir=RUN_LOGS, prefix="peer-server-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [BINARY, "--data-dir", data_dir, "--database-url", database_url, "serve", "--bind", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    log.close()
    remember_secret(TOKEN)
    banner = ""
    try:
        for line in process.stdout:
            banner += line
            if line.startswith("ringtrack listening on "):
                break
        base = re.search(r"listening on (http://\S+)", banner).group(1)
        key = re.search(r"cs_key_[A-Za-z0-9]{32}", banner).group(0)
        business = re.search(r"business id ([0-9a-f-]{36})", banner).group(1)
        welcome = re.search(r"(http://\S+/welcome/[A-Za-z0-9_-]+)", banner).group(1)
        remember_secret(welcome.rsplit("/", 1)[1])
        remember_secret(key)
        with open(os.path.join(data_dir, "secret-key")) as sealing_key:
            remember_secret(sealing_key.read().strip())
        subprocess.run([BINARY, "--data-dir", data_dir, "--database-url", database_url, "admin", "credit",
                        "--business", business, "--cents", "10000"], check=True, capture_output=True)
        running = Server(base, key, business, data_dir, database_url, backend, welcome)
        running.pid = process.pid
        yield running
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(data_dir, ignore_errors=True)
        if database:
            _psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgres"])
def server(request):
    with running_server(request.param) as running:
        yield running


def eventually(check, what, timeout=20):
    """`check()`'s first truthy answer, asked every 0.1 s for up to `timeout` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


@pytest.fixture
def browser():
    """Headless Chromium; media may play without a click (the call page's player test)."""
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--autoplay-policy=no-user-gesture-required", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield chromium
        chromium.close()
