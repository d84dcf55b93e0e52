"""Twilio's library as the judge of the SMS webhook: signatures it computes are accepted and
altered ones refused (nothing kept), and our compliance replies are the documents its
MessagingResponse builds."""

import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET

from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from conftest import TOKEN

TEXTER = "+13055559876"


def text_params(to, body):
    sid = "SM" + uuid.uuid4().hex
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + uuid.uuid4().hex, "From": TEXTER, "To": to,
            "Body": body, "NumMedia": "0", "SmsStatus": "received", "ApiVersion": "2010-04-01"}


def signed_text(server, to, body):
    params = text_params(to, body)
    signature = RequestValidator(TOKEN).compute_signature(server.base + "/webhooks/twilio/sms", params)
    return server.post_form("/webhooks/twilio/sms", params, signature)


def shape(element):
    return (element.tag, dict(element.attrib), (element.text or "").strip(), [shape(c) for c in element])


def test_sms_signatures_computed_by_twilio_are_accepted_and_altered_ones_refused(server):
    to = server.number_with_flow([{"type": "hangup"}])
    params = text_params(to, "Do you work weekends?")
    url = server.base + "/webhooks/twilio/sms"
    signature = RequestValidator(TOKEN).compute_signature(url, params)
    status, body = server.post_form("/webhooks/twilio/sms", params, signature)
    assert status == 200, body
    assert shape(ET.fromstring(body)) == shape(ET.fromstring(str(MessagingResponse())))

    altered = dict(params, Body="Send me money", MessageSid="SM" + uuid.uuid4().hex)
    assert server.post_form("/webhooks/twilio/sms", altered, signature)[0] == 403
    assert server.post_form("/webhooks/twilio/sms", dict(params, MessageSid="SM" + uuid.uuid4().hex), None)[0] == 403
    messages = server.api("GET", "/api/v1/sms")["data"]
    assert messages["total"] == 1
    assert messages["messages"][0]["body"] == "Do you work weekends?"


def test_stop_and_help_replies_are_twilio_messaging_responses(server):
    to = server.number_with_flow([{"type": "hangup"}])
    status, body = signed_text(server, to, " Stop ")
    assert status == 200, body
    reply = ET.fromstring(body).find("Message").text
    assert "unsubscribed" in reply
    expected = MessagingResponse()
    expected.message(reply)
    assert shape(ET.fromstring(body)) == shape(ET.fromstring(str(expected)))
    # Sending to them is now refused.
    number_id = server.api("GET", "/api/v1/numbers")["data"]["numbers"][0]["id"]
    request = urllib.request.Request(server.base + "/api/v1/texts", method="POST",
                                     data=b'{"from_number_id": "%s", "to": "%s", "body": "hi"}' % (
                                         number_id.encode(), TEXTER.encode()))
    request.add_header("Authorization", "Bearer " + server.key)
    request.add_header("Content-Type", "application/json")
    try:
        urllib.request.urlopen(request)
        assert False, "the send was accepted"
    except urllib.error.HTTPError as error:
        assert error.code == 422
        assert b'"opted_out"' in error.read()

    status, body = signed_text(server, to, "HELP")
    expected = MessagingResponse()
    expected.message(ET.fromstring(body).find("Message").text)
    assert shape(ET.fromstring(body)) == shape(ET.fromstring(str(expected)))
    assert "Reply STOP" in ET.fromstring(body).find("Message").text
