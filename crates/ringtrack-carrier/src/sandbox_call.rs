//! The sandbox carrier placing a call: it plays Twilio's part, posting signed webhooks to
//! the server's public endpoints and executing the TwiML they answer, with a scripted
//! caller (digits pressed), agents (answer or not, press 1 or not) and a voicemail spoken.
//! The call so travels exactly the road a real carrier's does. Recordings are made with
//! espeak-ng when it is installed (so transcription has real words), a tone otherwise.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use ringtrack_domain::PhoneNumber;
use serde::Serialize;

use crate::CarrierError;
use crate::signature;
use crate::twiml::{self, Verb};

/// How the simulated people behave.
#[derive(Clone, Debug)]
pub struct CallScript {
    pub from: PhoneNumber,
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
    /// What is said on an answered call, for its recording.
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
}

/// Where the sandbox reaches the server, and how it signs.
pub struct SandboxCaller {
    http: reqwest::Client,
    auth_token: String,
    voice_url: String,
    status_url: String,
    recordings_dir: PathBuf,
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
    pub fn new(auth_token: &str, voice_url: String, status_url: String, recordings_dir: PathBuf) -> Self {
        SandboxCaller {
            http: reqwest::Client::new(),
            auth_token: auth_token.to_owned(),
            voice_url,
            status_url,
            recordings_dir,
        }
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
        let signature = signature::sign(&self.auth_token, url, &params);
        let response = self
            .http
            .post(url)
            .header("X-Twilio-Signature", signature)
            .form(&params)
            .send()
            .await
            .map_err(|e| CarrierError::Unavailable(e.without_url().to_string()))?;
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
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
        let mut digits = script.digits.chars();
        let document =
            self.post(&mut trace, &self.voice_url, with(&[("CallStatus", "ringing".into())])).await?;
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
                    elapsed += if connected { talk + 3 } else { timeout };
                    if connected
                        && record
                        && let Some(callback) = recording_status_callback
                    {
                        let words = script
                            .conversation
                            .as_deref()
                            .unwrap_or("Hello, thanks for calling. How can I help you today?");
                        let (recording_sid, seconds) = self.record(Some(words), talk).await?;
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
                            let (recording_sid, seconds) = self.record(Some(text), 0).await?;
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
        self.post(&mut trace, &self.status_url, params).await?;
        Ok(PlacedCall { call_sid, trace, duration_seconds: elapsed })
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

    /// Makes a recording file; answers its SID and length in seconds.
    async fn record(
        &self,
        words: Option<&str>,
        at_least_seconds: u32,
    ) -> Result<(String, u32), CarrierError> {
        let recording_sid = sid("RE");
        tokio::fs::create_dir_all(&self.recordings_dir)
            .await
            .map_err(|e| CarrierError::Unavailable(format!("recordings dir: {e}")))?;
        let path = self.recordings_dir.join(format!("{recording_sid}.wav"));
        let spoken = match words {
            Some(words) => speak(words, &path).await,
            None => false,
        };
        if !spoken {
            write_tone(&path, at_least_seconds.max(2))
                .map_err(|e| CarrierError::Unavailable(format!("recording: {e}")))?;
        }
        let seconds = wav_seconds(&path).unwrap_or(at_least_seconds).max(1);
        Ok((recording_sid, seconds))
    }
}

fn parse(document: &str) -> Result<Vec<Verb>, CarrierError> {
    twiml::parse(document)
        .map_err(|e| CarrierError::Refused { message: format!("unreadable TwiML: {e}"), code: None })
}

/// Speech with espeak-ng, when installed.
async fn speak(words: &str, path: &Path) -> bool {
    let status = tokio::process::Command::new("espeak-ng")
        .arg("-w")
        .arg(path)
        .arg("-s")
        .arg("150")
        .arg(words)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await;
    matches!(status, Ok(s) if s.success())
}

const TONE_RATE: u32 = 8000;

/// A 440 Hz tone, 16-bit mono PCM at 8 kHz.
fn write_tone(path: &Path, seconds: u32) -> std::io::Result<()> {
    let samples = TONE_RATE * seconds;
    let mut wav = wav_header(samples * 2, TONE_RATE);
    for i in 0..samples {
        let t = i as f32 / TONE_RATE as f32;
        let sample = ((t * 440.0 * std::f32::consts::TAU).sin() * 8000.0) as i16;
        wav.extend_from_slice(&sample.to_le_bytes());
    }
    std::fs::write(path, wav)
}

fn wav_header(data_len: u32, rate: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(44 + data_len as usize);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&(36 + data_len).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes()); // PCM
    h.extend_from_slice(&1u16.to_le_bytes()); // mono
    h.extend_from_slice(&rate.to_le_bytes());
    h.extend_from_slice(&(rate * 2).to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&16u16.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data_len.to_le_bytes());
    h
}

/// The length of a PCM WAV file, in whole seconds (at least one).
fn wav_seconds(path: &Path) -> Option<u32> {
    let bytes = std::fs::read(path).ok()?;
    let byte_rate = u32::from_le_bytes(bytes.get(28..32)?.try_into().ok()?);
    let data = bytes.len().checked_sub(44)? as u32;
    (byte_rate > 0).then(|| (data / byte_rate).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tones_are_valid_wav_of_the_asked_length() {
        let dir = std::env::temp_dir().join(format!("ringtrack-tone-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.wav");
        write_tone(&path, 3).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..4], b"RIFF");
        assert_eq!(&bytes[8..16], b"WAVEfmt ");
        assert_eq!(bytes.len(), 44 + 3 * 8000 * 2);
        assert_eq!(wav_seconds(&path), Some(3));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn speech_takes_time() {
        assert_eq!(seconds_to_say("Thanks for calling"), 2);
        assert_eq!(seconds_to_say(""), 1);
    }
}
