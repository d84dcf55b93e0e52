//! The sandbox carrier placing a call: it plays Twilio's part, posting signed webhooks to
//! the server's public endpoints and executing the TwiML they answer, with a scripted
//! caller (digits pressed), agents (answer or not, press 1 or not) and a voicemail spoken.
//! The call so travels exactly the road a real carrier's does. Recordings are made as a
//! carrier makes them (8 kHz WAV, two channels for a conversation: caller left, agent
//! right) with espeak-ng when it is installed (so transcription has real words), a tone
//! otherwise. The audio is built with `ringtrack-media`'s codec functions, so the sandbox
//! and the pipeline read and write WAV the same way (so the carrier crate depends on the
//! media crate, the one arrow between two crates of the same tier).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use ringtrack_domain::PhoneNumber;
use ringtrack_domain::phone::Caller;
use ringtrack_media::audio::{self, Audio};
use serde::Serialize;

use crate::signature;
use crate::twiml::{self, Verb};
use crate::{CarrierError, Webhooks};

/// How the simulated people behave.
#[derive(Clone, Debug)]
pub struct CallScript {
    /// The caller: a number, or one withheld (`anonymous`).
    pub from: Caller,
    pub to: PhoneNumber,
    /// Whether the first agent dialled answers.
    pub answer: bool,
    /// Whether an agent asked to press 1 does.
    pub agent_accepts: bool,
    /// How long caller and agent talk once connected.
    pub talk_seconds: u32,
    /// The keys the caller presses, one per menu.
    pub digits: String,
    /// What the caller says when asked for a voicemail; none leaves silence.
    pub voicemail_text: Option<String>,
    /// What is said on an answered call, for its recording ([`DEFAULT_CONVERSATION`] when
    /// none).
    pub conversation: Option<String>,
    pub caller_city: Option<String>,
    pub caller_state: Option<String>,
    pub caller_zip: Option<String>,
}

/// One request the sandbox made, and what it got back.
#[derive(Clone, Debug, Serialize)]
pub struct TraceStep {
    pub request: String,
    pub params: Vec<(String, String)>,
    pub status: u16,
    pub response: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct PlacedCall {
    pub call_sid: String,
    pub trace: Vec<TraceStep>,
    /// Seconds the call lasted, as the final status reported.
    pub duration_seconds: u32,
    /// Seconds into the call when an agent took it, if one did.
    pub answered_after_seconds: Option<u32>,
}

/// Where the sandbox reaches the server, and how it signs.
pub struct SandboxCaller {
    http: reqwest::Client,
    auth_token: String,
    hooks: Webhooks,
    recordings_dir: PathBuf,
}

/// Posts a form signed as Twilio signs its webhooks; answers the status and body.
pub(crate) async fn post_signed(
    http: &reqwest::Client,
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
) -> Result<(u16, String), CarrierError> {
    let response = http
        .post(url)
        .header("X-Twilio-Signature", signature::sign(auth_token, url, params))
        .form(params)
        .send()
        .await
        .map_err(|e| CarrierError::Unavailable(e.without_url().to_string()))?;
    let status = response.status().as_u16();
    Ok((status, response.text().await.unwrap_or_default()))
}

/// A text someone sends a tracking number, for the sandbox to deliver.
#[derive(Clone, Debug)]
pub struct InboundText {
    pub from: PhoneNumber,
    pub to: PhoneNumber,
    pub body: String,
    pub media_urls: Vec<String>,
}

/// What the server answered a delivered text.
#[derive(Clone, Debug, Serialize)]
pub struct DeliveredText {
    pub message_sid: String,
    pub status: u16,
    /// The TwiML answer: empty, or the compliance reply it sends back.
    pub response: String,
}

const ACCOUNT_SID: &str = "ACsandbox0000000000000000000000000";
/// The most exchanges one call may take before the sandbox gives up (a TwiML loop).
const MAX_REQUESTS: usize = 100;

fn sid(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

fn seconds_to_say(text: &str) -> u32 {
    (text.split_whitespace().count() as u32).div_ceil(2).max(1)
}

impl SandboxCaller {
    pub fn new(auth_token: &str, hooks: Webhooks, recordings_dir: PathBuf) -> Self {
        SandboxCaller {
            http: reqwest::Client::new(),
            auth_token: auth_token.to_owned(),
            hooks,
            recordings_dir,
        }
    }

    /// Delivers a text to the server's SMS webhook, as the carrier would.
    pub async fn text(&self, text: &InboundText) -> Result<DeliveredText, CarrierError> {
        let message_sid = sid("SM");
        let mut params: Vec<(String, String)> = [
            ("MessageSid", message_sid.as_str()),
            ("SmsSid", message_sid.as_str()),
            ("SmsMessageSid", message_sid.as_str()),
            ("AccountSid", ACCOUNT_SID),
            ("From", text.from.as_str()),
            ("To", text.to.as_str()),
            ("Body", text.body.as_str()),
            ("SmsStatus", "received"),
            ("ApiVersion", "2010-04-01"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        params.push(("NumMedia".into(), text.media_urls.len().to_string()));
        for (i, url) in text.media_urls.iter().enumerate() {
            params.push((format!("MediaUrl{i}"), url.clone()));
            params.push((format!("MediaContentType{i}"), "image/jpeg".into()));
        }
        let (status, response) =
            post_signed(&self.http, &self.auth_token, &self.hooks.sms_url, &params).await?;
        Ok(DeliveredText { message_sid, status, response })
    }

    async fn post(
        &self,
        trace: &mut Vec<TraceStep>,
        url: &str,
        params: Vec<(String, String)>,
    ) -> Result<String, CarrierError> {
        if trace.len() >= MAX_REQUESTS {
            return Err(CarrierError::Refused {
                message: "the call made too many requests".into(),
                code: None,
            });
        }
        let (status, body) = post_signed(&self.http, &self.auth_token, url, &params).await?;
        let path = url.split_once("://").map_or(url, |(_, rest)| rest.find('/').map_or("/", |i| &rest[i..]));
        trace.push(TraceStep { request: format!("POST {path}"), params, status, response: body.clone() });
        if status >= 400 {
            return Err(CarrierError::Refused {
                message: format!("the server answered {status} to {path}"),
                code: None,
            });
        }
        Ok(body)
    }

    /// Places a call to `script.to` and runs it to its end.
    pub async fn place(&self, script: &CallScript) -> Result<PlacedCall, CarrierError> {
        let call_sid = sid("CA");
        let mut trace = Vec::new();
        let mut base = vec![
            ("CallSid".to_owned(), call_sid.clone()),
            ("AccountSid".to_owned(), ACCOUNT_SID.to_owned()),
            ("From".to_owned(), script.from.to_string()),
            ("To".to_owned(), script.to.to_string()),
            ("Caller".to_owned(), script.from.to_string()),
            ("Called".to_owned(), script.to.to_string()),
            ("Direction".to_owned(), "inbound".to_owned()),
            ("ApiVersion".to_owned(), "2010-04-01".to_owned()),
        ];
        for (name, value) in [
            ("FromCity", &script.caller_city),
            ("FromState", &script.caller_state),
            ("FromZip", &script.caller_zip),
        ] {
            if let Some(value) = value {
                base.push((name.to_owned(), value.clone()));
            }
        }
        let with = |extra: &[(&str, String)]| {
            let mut params = base.clone();
            params.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
            params
        };

        let mut elapsed: u32 = 0;
        let mut answered_after_seconds = None;
        let mut digits = script.digits.chars();
        let document =
            self.post(&mut trace, &self.hooks.voice_url, with(&[("CallStatus", "ringing".into())])).await?;
        let mut verbs: VecDeque<Verb> = parse(&document)?.into();
        while let Some(verb) = verbs.pop_front() {
            match verb {
                Verb::Say(text) => elapsed += seconds_to_say(&text),
                Verb::Play(_) => elapsed += 3,
                Verb::Pause => elapsed += 1,
                Verb::Hangup => break,
                Verb::Gather { action, children, timeout } => {
                    elapsed += children
                        .iter()
                        .map(|v| if let Verb::Say(t) = v { seconds_to_say(t) } else { 1 })
                        .sum::<u32>();
                    let pressed = digits.next().map(String::from);
                    if pressed.is_none() {
                        elapsed += timeout;
                    }
                    let Some(action) = action else { continue };
                    let params = with(&[
                        ("CallStatus", "in-progress".into()),
                        ("Digits", pressed.unwrap_or_default()),
                    ]);
                    verbs = parse(&self.post(&mut trace, &action, params).await?)?.into();
                }
                Verb::Dial { action, timeout, record, recording_status_callback, numbers } => {
                    let child_sid = sid("CA");
                    let connected = match numbers.first().filter(|_| script.answer) {
                        Some(agent) => {
                            self.agent_answers(&mut trace, script, &call_sid, &child_sid, agent).await?
                        }
                        None => false,
                    };
                    let talk = if connected { script.talk_seconds } else { 0 };
                    if connected {
                        // The agent's phone rings a few seconds before they pick up.
                        answered_after_seconds = answered_after_seconds.or(Some(elapsed + 3));
                    }
                    elapsed += if connected { talk + 3 } else { timeout };
                    if connected
                        && record
                        && let Some(callback) = recording_status_callback
                    {
                        let words = script.conversation.as_deref().unwrap_or(DEFAULT_CONVERSATION);
                        let (recording_sid, seconds) = self.record(&lines(words), talk).await?;
                        let params = with(&[
                            ("RecordingSid", recording_sid.clone()),
                            ("RecordingUrl", format!("sandbox:{recording_sid}")),
                            ("RecordingStatus", "completed".into()),
                            ("RecordingDuration", seconds.to_string()),
                            ("RecordingChannels", "2".into()),
                            ("RecordingSource", "DialVerb".into()),
                        ]);
                        self.post(&mut trace, &callback, params).await?;
                    }
                    let Some(action) = action else { continue };
                    let status = if connected { "completed" } else { "no-answer" };
                    let params = with(&[
                        ("CallStatus", "in-progress".into()),
                        ("DialCallStatus", status.into()),
                        ("DialCallSid", child_sid),
                        ("DialCallDuration", talk.to_string()),
                    ]);
                    verbs = parse(&self.post(&mut trace, &action, params).await?)?.into();
                }
                Verb::Record { action, max_length, recording_status_callback } => {
                    let (url, seconds, recording_sid) = match &script.voicemail_text {
                        Some(text) => {
                            let spoken = [Line { agent: false, words: text }];
                            let (recording_sid, seconds) = self.record(&spoken, 0).await?;
                            (format!("sandbox:{recording_sid}"), seconds.min(max_length), recording_sid)
                        }
                        None => (String::new(), 0, String::new()),
                    };
                    elapsed += seconds.max(2);
                    if seconds > 0
                        && let Some(callback) = &recording_status_callback
                    {
                        let params = with(&[
                            ("RecordingSid", recording_sid.clone()),
                            ("RecordingUrl", url.clone()),
                            ("RecordingStatus", "completed".into()),
                            ("RecordingDuration", seconds.to_string()),
                            ("RecordingChannels", "1".into()),
                            ("RecordingSource", "RecordVerb".into()),
                        ]);
                        self.post(&mut trace, callback, params).await?;
                    }
                    let Some(action) = action else { continue };
                    let params = with(&[
                        ("CallStatus", "in-progress".into()),
                        ("RecordingUrl", url),
                        ("RecordingSid", recording_sid),
                        ("RecordingDuration", seconds.to_string()),
                    ]);
                    verbs = parse(&self.post(&mut trace, &action, params).await?)?.into();
                }
            }
        }
        let params = with(&[("CallStatus", "completed".into()), ("CallDuration", elapsed.to_string())]);
        self.post(&mut trace, &self.hooks.status_callback, params).await?;
        Ok(PlacedCall { call_sid, trace, duration_seconds: elapsed, answered_after_seconds })
    }

    /// The agent's leg: runs the whisper document the number's URL answers. Answers whether
    /// the agent was connected (they were not when their leg hung up).
    async fn agent_answers(
        &self,
        trace: &mut Vec<TraceStep>,
        script: &CallScript,
        parent_sid: &str,
        child_sid: &str,
        agent: &twiml::DialNumber,
    ) -> Result<bool, CarrierError> {
        let Some(url) = &agent.url else { return Ok(true) };
        let leg = vec![
            ("CallSid".to_owned(), child_sid.to_owned()),
            ("ParentCallSid".to_owned(), parent_sid.to_owned()),
            ("AccountSid".to_owned(), ACCOUNT_SID.to_owned()),
            ("From".to_owned(), script.from.to_string()),
            ("To".to_owned(), agent.number.clone()),
            ("Direction".to_owned(), "outbound-dial".to_owned()),
            ("CallStatus".to_owned(), "in-progress".to_owned()),
        ];
        let mut verbs: VecDeque<Verb> = parse(&self.post(trace, url, leg.clone()).await?)?.into();
        while let Some(verb) = verbs.pop_front() {
            match verb {
                Verb::Hangup => return Ok(false),
                Verb::Gather { action: Some(action), .. } => {
                    let mut params = leg.clone();
                    params.push((
                        "Digits".to_owned(),
                        if script.agent_accepts { "1".into() } else { String::new() },
                    ));
                    verbs = parse(&self.post(trace, &action, params).await?)?.into();
                }
                _ => {}
            }
        }
        Ok(true)
    }

    /// Makes a recording file as a carrier would: 8 kHz, one channel for a voicemail, two
    /// for a conversation (the caller left, the agent right). Answers its SID and length
    /// in seconds.
    async fn record(&self, lines: &[Line<'_>], at_least_seconds: u32) -> Result<(String, u32), CarrierError> {
        let recording_sid = sid("RE");
        tokio::fs::create_dir_all(&self.recordings_dir)
            .await
            .map_err(|e| CarrierError::Unavailable(format!("recordings dir: {e}")))?;
        let path = self.recordings_dir.join(format!("{recording_sid}.wav"));
        let channels = if lines.iter().any(|l| l.agent) { 2 } else { 1 };
        let mut audio = match speak_lines(lines, channels).await {
            Some(audio) => audio,
            None => tone(at_least_seconds.clamp(2, MAX_RECORDING_SECONDS), channels),
        };
        for channel in &mut audio.channels {
            channel.truncate((CALL_RATE * MAX_RECORDING_SECONDS) as usize);
        }
        let seconds = (audio.duration_ms() / 1000).max(1) as u32;
        tokio::fs::write(&path, audio::wav(&audio.channels, audio.sample_rate))
            .await
            .map_err(|e| CarrierError::Unavailable(format!("recording: {e}")))?;
        Ok((recording_sid, seconds.max(at_least_seconds)))
    }
}

/// What a sandbox call says when its script names no conversation: a believable first
/// call to a small business (a need, a price asked, a time booked, contact details), so
/// a newcomer's first call is transcribed and scored as a real lead would be.
pub const DEFAULT_CONVERSATION: &str = "\
Agent: Thanks for calling Acme Plumbing, this is Sarah. How can I help you today?
Caller: Hi Sarah. My kitchen sink is leaking and there is water all over the floor. Can someone come out today?
Agent: I am sorry to hear that. We have a technician free this afternoon at three o'clock. Does that work for you?
Caller: Yes, three o'clock works. How much does a visit cost?
Agent: The service call is eighty nine dollars, and it goes toward the repair. Can I get your name and a good number to reach you?
Caller: Sure, it's John Smith, and my number is 5 7 3 5 5 5 0 1 4 2.
Agent: Thank you John. You're all set for three this afternoon. We'll call you when the technician is on the way.
Caller: Perfect, thank you so much. See you then.";

/// One line of a scripted conversation, and who says it.
pub struct Line<'a> {
    pub agent: bool,
    pub words: &'a str,
}

/// A conversation script: one line per turn, `Agent:` or `Caller:` in front (the caller
/// when neither).
pub fn lines(script: &str) -> Vec<Line<'_>> {
    script
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| match line.split_once(':') {
            Some((who, words)) if who.trim().eq_ignore_ascii_case("agent") => {
                Line { agent: true, words: words.trim() }
            }
            Some((who, words)) if who.trim().eq_ignore_ascii_case("caller") => {
                Line { agent: false, words: words.trim() }
            }
            _ => Line { agent: false, words: line },
        })
        .collect()
}

/// The phone network's rate.
const CALL_RATE: u32 = 8000;

/// The most a scripted conversation may say (about four minutes of speech), and a
/// voicemail (about a minute): what a simulated call is spoken from is bounded, and so is
/// the audio it makes.
pub const MAX_CONVERSATION_CHARS: usize = 4000;
pub const MAX_VOICEMAIL_TEXT_CHARS: usize = 1000;
/// The longest recording the sandbox makes; a longer call's recording is cut there (its
/// reported length stays the call's).
const MAX_RECORDING_SECONDS: u32 = 300;

/// Whether espeak-ng, the sandbox's voice, is installed: without it a simulated call's
/// recording is a tone, which transcribes to no words.
pub fn can_speak() -> bool {
    std::process::Command::new("espeak-ng")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Each line spoken in turn by espeak-ng (a second voice for the agent) on its speaker's
/// channel, the other channel silent meanwhile. `None` when espeak-ng is not installed.
async fn speak_lines(lines: &[Line<'_>], channels: usize) -> Option<Audio> {
    let dir = tempfile_dir().ok()?;
    let mut out = vec![Vec::new(); channels];
    for (i, line) in lines.iter().enumerate() {
        let path = dir.join(format!("{i}.wav"));
        let spoken = speak(line.words, if line.agent { "en-us+f3" } else { "en-us" }, &path).await;
        let decoded =
            spoken.then(|| std::fs::read(&path).ok()).flatten().and_then(|b| audio::decode(&b).ok());
        let Some(decoded) = decoded else {
            let _ = std::fs::remove_dir_all(&dir);
            return None;
        };
        let speech = audio::resample(&decoded.channels[0], decoded.sample_rate, CALL_RATE);
        let pause = vec![0.0; CALL_RATE as usize * 2 / 5];
        for (c, channel) in out.iter_mut().enumerate() {
            let speaking = usize::from(line.agent && channels == 2) == c;
            if speaking {
                channel.extend_from_slice(&speech);
            } else {
                channel.resize(channel.len() + speech.len(), 0.0);
            }
            channel.extend_from_slice(&pause);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Some(Audio { sample_rate: CALL_RATE, channels: out })
}

fn tempfile_dir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("ringtrack-speech-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn parse(document: &str) -> Result<Vec<Verb>, CarrierError> {
    twiml::parse(document)
        .map_err(|e| CarrierError::Refused { message: format!("unreadable TwiML: {e}"), code: None })
}

/// Speech with espeak-ng, when installed.
async fn speak(words: &str, voice: &str, path: &Path) -> bool {
    let status = tokio::process::Command::new("espeak-ng")
        .args(["-v", voice, "-s", "150", "-w"])
        .arg(path)
        .arg(words)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await;
    matches!(status, Ok(s) if s.success())
}

/// A 440 Hz tone on every channel, when there is no speech synthesizer.
fn tone(seconds: u32, channels: usize) -> Audio {
    let samples: Vec<f32> = (0..CALL_RATE * seconds)
        .map(|i| (i as f32 / CALL_RATE as f32 * 440.0 * std::f32::consts::TAU).sin() * 0.25)
        .collect();
    Audio { sample_rate: CALL_RATE, channels: vec![samples; channels] }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_scripts_name_their_speakers() {
        let parsed = lines("Agent: Acme, how can I help?\n  caller:  My sink leaks.\nThanks\n\n");
        let turns: Vec<(bool, &str)> = parsed.iter().map(|l| (l.agent, l.words)).collect();
        assert_eq!(turns, [(true, "Acme, how can I help?"), (false, "My sink leaks."), (false, "Thanks")]);
    }

    #[test]
    fn tones_fill_every_channel_for_the_asked_length() {
        let t = tone(3, 2);
        assert_eq!((t.sample_rate, t.channels.len(), t.duration_ms()), (8000, 2, 3000));
    }

    #[test]
    fn speech_takes_time() {
        assert_eq!(seconds_to_say("Thanks for calling"), 2);
        assert_eq!(seconds_to_say(""), 1);
    }
}
