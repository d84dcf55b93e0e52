"""The web app's email through a real SMTP server (aiosmtpd), on SQLite and on PostgreSQL:
an admin invites someone from the Team page and the invitation arrives with a link that
sets their password; a person who forgot their password gets a link that sets a new one
(and an address without an account gets the same answer and no email)."""

import email
import email.policy
import re
import socket
import threading

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect

from conftest import remember_secret, running_server
from test_web_app import PASSWORD, create_user, sign_in

SENDER = "ringtrack <calls@acme.test>"


class Inbox:
    """What the SMTP server received, as parsed messages."""

    def __init__(self):
        self.messages = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.arrived:
            self.messages.append((envelope.rcpt_tos, message))
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, count, timeout=15):
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.messages) >= count, timeout), "no email arrived"
            return self.messages[count - 1]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(params=["sqlite", "postgres"])
def mailed(request):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        env = {"RINGTRACK_SMTP_URL": f"smtp://127.0.0.1:{port}", "RINGTRACK_SMTP_FROM": SENDER}
        with running_server(request.param, env) as server:
            yield server, inbox
    finally:
        controller.stop()


def link_in(message):
    body = message.get_body(preferencelist=("plain",)).get_content()
    url = re.search(r"http://\S+/invitations/[A-Za-z0-9_-]+", body).group(0)
    remember_secret(url.rsplit("/", 1)[1])
    return url


def test_an_invitation_arrives_by_email_and_sets_a_password(mailed, browser):
    server, inbox = mailed
    create_user(server, "ada@acme.test", "admin", PASSWORD)
    admin = browser.new_page()
    sign_in(admin, server, "ada@acme.test")
    admin.get_by_role("link", name="Team").click()
    admin.get_by_label("Name").fill("Sam Viewer")
    admin.get_by_label("Email").fill("sam@acme.test")
    admin.get_by_label("Role").select_option("viewer")
    admin.get_by_role("button", name="Send invitation").click()
    expect(admin.get_by_role("status")).to_contain_text("Invitation emailed to sam@acme.test")

    recipients, message = inbox.wait_for(1)
    assert recipients == ["sam@acme.test"]
    assert message["From"] == SENDER and message["To"] == "sam@acme.test"
    assert "You are invited to My Business" == message["Subject"]
    url = link_in(message)
    assert url.startswith(server.base)

    invited = browser.new_page()
    invited.goto(url)
    invited.get_by_label("New password").fill("a fresh long password")
    invited.get_by_role("button", name="Set password").click()
    invited.get_by_label("Email").fill("sam@acme.test")
    invited.get_by_label("Password").fill("a fresh long password")
    invited.get_by_role("button", name="Sign in").click()
    expect(invited).to_have_url(re.compile(r"/dashboard$"))
    invited.get_by_role("link", name="Team").click()
    expect(invited.get_by_role("row", name=re.compile("Sam Viewer"))).to_contain_text("Viewer")
    expect(invited.get_by_role("button", name="Send invitation")).to_have_count(0)


def test_a_forgotten_password_is_set_again_by_an_emailed_link(mailed, browser):
    server, inbox = mailed
    create_user(server, "maria@acme.test", "manager", PASSWORD)
    page = browser.new_page()
    page.goto(server.base + "/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill("nobody@acme.test")
    page.get_by_role("button", name="Email me a link").click()
    unknown_answer = page.get_by_role("status").inner_text()

    page.goto(server.base + "/password/forgot")
    page.get_by_label("Email").fill("maria@acme.test")
    page.get_by_role("button", name="Email me a link").click()
    known_answer = page.get_by_role("status").inner_text()
    assert unknown_answer.replace("nobody@acme.test", "X") == known_answer.replace("maria@acme.test", "X")

    recipients, message = inbox.wait_for(1)
    assert recipients == ["maria@acme.test"], "only the account's address gets mail"
    page.goto(link_in(message))
    page.get_by_label("New password").fill("my brand new password")
    page.get_by_role("button", name="Set password").click()

    page.get_by_label("Email").fill("maria@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("The email or password is not right.")
    sign_in_page = page
    sign_in_page.get_by_label("Email").fill("maria@acme.test")
    sign_in_page.get_by_label("Password").fill("my brand new password")
    sign_in_page.get_by_role("button", name="Sign in").click()
    expect(sign_in_page).to_have_url(re.compile(r"/dashboard$"))
    assert len(inbox.messages) == 1, "no email for the unknown address"
