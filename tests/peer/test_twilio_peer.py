"""Twilio's own library as the judge of our webhook dialect: signatures it computes must
be accepted (and altered ones refused), and the TwiML we answer for each step type must be
the document its VoiceResponse builds for the same intent."""

import urllib.parse
import uuid
import xml.etree.ElementTree as ET

from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from conftest import TOKEN

CALLER = "+13055551234"
AGENT = "+13055554567"


def call_params(to):
    return {
        "CallSid": "CA" + uuid.uuid4().hex,
        "AccountSid": "AC" + uuid.uuid4().hex,
        "From": CALLER,
        "To": to,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "FromCity": "MIAMI",
        "FromState": "FL",
        "FromZip": "33101",
    }


def signed_call(server, to):
    """Posts a call to the voice webhook, signed by Twilio's RequestValidator."""
    params = call_params(to)
    url = server.base + "/webhooks/twilio/voice"
    signature = RequestValidator(TOKEN).compute_signature(url, params)
    status, body = server.post_form("/webhooks/twilio/voice", params, signature)
    assert status == 200, body
    return body


def shape(element):
    """A comparable form of an XML element: tag, attributes, text, children."""
    return (element.tag, dict(element.attrib), (element.text or "").strip(), [shape(c) for c in element])


def assert_same_twiml(ours, theirs):
    assert shape(ET.fromstring(ours)) == shape(ET.fromstring(str(theirs)))


def callback(ours, tag, attribute):
    """An attribute of the first `tag` in our TwiML (callback URLs name the call)."""
    return ET.fromstring(ours).iter(tag).__next__().attrib[attribute]


def test_signatures_computed_by_twilio_are_accepted_and_altered_ones_refused(server):
    to = server.number_with_flow([{"type": "hangup"}])
    params = call_params(to)
    url = server.base + "/webhooks/twilio/voice"
    validator = RequestValidator(TOKEN)
    signature = validator.compute_signature(url, params)
    assert server.post_form("/webhooks/twilio/voice", params, signature)[0] == 200

    altered = dict(params, From="+19999999999", CallSid="CA" + uuid.uuid4().hex)
    assert server.post_form("/webhooks/twilio/voice", altered, signature)[0] == 403
    wrong_key = RequestValidator("not-the-token").compute_signature(url, params)
    assert server.post_form("/webhooks/twilio/voice", dict(params, CallSid="CA" + uuid.uuid4().hex), wrong_key)[0] == 403
    assert server.post_form("/webhooks/twilio/voice", dict(params, CallSid="CA" + uuid.uuid4().hex), None)[0] == 403
    # Only the signed call was recorded.
    calls = server.api("GET", "/api/v1/calls")["data"]
    assert calls["total"] == 1


def test_greeting_and_forward_with_recording(server):
    to = server.number_with_flow(
        [{"type": "greeting", "message": "Thanks for calling"}, {"type": "forward", "number": AGENT, "timeout_seconds": 25}],
        {"recording": True, "whisper": True})
    ours = signed_call(server, to)
    expected = VoiceResponse()
    expected.say("Thanks for calling")
    dial = Dial(action=callback(ours, "Dial", "action"), method="POST", timeout=25, caller_id=CALLER,
                record="record-from-answer-dual", recording_status_callback=callback(ours, "Dial", "recordingStatusCallback"),
                recording_status_callback_method="POST", recording_status_callback_event="completed")
    dial.number(AGENT, url=callback(ours, "Number", "url"), method="POST")
    expected.append(dial)
    assert_same_twiml(ours, expected)


def test_multi_ring_without_recording(server):
    numbers = ["+13055551001", "+13055551002"]
    to = server.number_with_flow([{"type": "multi_ring", "numbers": numbers}], {"recording": False})
    ours = signed_call(server, to)
    expected = VoiceResponse()
    dial = Dial(action=callback(ours, "Dial", "action"), method="POST", timeout=30, caller_id=CALLER)
    for number in numbers:
        dial.number(number, url=callback(ours, "Number", "url"), method="POST")
    expected.append(dial)
    assert_same_twiml(ours, expected)


def test_menu(server):
    to = server.number_with_flow([{"type": "menu", "prompt": "Press 1 for sales", "timeout_seconds": 7,
                                   "options": {"1": [{"type": "hangup"}]}}])
    ours = signed_call(server, to)
    expected = VoiceResponse()
    gather = Gather(input="dtmf", num_digits=1, timeout=7, action=callback(ours, "Gather", "action"), method="POST",
                    action_on_empty_result=True)
    gather.say("Press 1 for sales")
    expected.append(gather)
    assert_same_twiml(ours, expected)


def test_voicemail(server):
    to = server.number_with_flow([{"type": "voicemail", "message": "Leave a message", "max_length_seconds": 90}])
    ours = signed_call(server, to)
    expected = VoiceResponse()
    expected.say("Leave a message")
    expected.record(action=callback(ours, "Record", "action"), method="POST", max_length=90, play_beep=True,
                    recording_status_callback=callback(ours, "Record", "recordingStatusCallback"),
                    recording_status_callback_method="POST")
    assert_same_twiml(ours, expected)


def test_schedule_closed_and_hangup(server):
    to = server.number_with_flow([
        {"type": "schedule", "timezone": "America/Chicago", "hours": {}, "closed": [
            {"type": "greeting", "message": "We are closed"}, {"type": "hangup"}]}])
    ours = signed_call(server, to)
    expected = VoiceResponse()
    expected.say("We are closed")
    expected.hangup()
    assert_same_twiml(ours, expected)


def test_a_number_not_in_service(server):
    ours = signed_call(server, "+15735550000")
    expected = VoiceResponse()
    expected.say("The number you have called is not in service. Goodbye.")
    expected.hangup()
    assert_same_twiml(ours, expected)


def test_whisper_with_press1_on_the_agent_leg(server):
    to = server.number_with_flow([{"type": "forward", "number": AGENT}],
                                 {"whisper": True, "whisper_message": "Call from Google Ads", "press1": True})
    ours = signed_call(server, to)
    whisper_url = callback(ours, "Number", "url")
    path = whisper_url[len(server.base):]
    params = {"CallSid": "CA" + uuid.uuid4().hex, "ParentCallSid": "CA" + uuid.uuid4().hex, "From": CALLER, "To": AGENT,
              "CallStatus": "in-progress", "Direction": "outbound-dial"}
    signature = RequestValidator(TOKEN).compute_signature(whisper_url, params)
    status, whisper = server.post_form(path, params, signature)
    assert status == 200, whisper
    expected = VoiceResponse()
    gather = Gather(input="dtmf", num_digits=1, timeout=10, action=callback(whisper, "Gather", "action"), method="POST",
                    action_on_empty_result=True)
    gather.say("Call from Google Ads. Press 1 to accept the call.")
    expected.append(gather)
    expected.hangup()
    assert_same_twiml(whisper, expected)
    assert urllib.parse.urlparse(callback(whisper, "Gather", "action")).path == "/webhooks/twilio/voice/whisper/answer"
