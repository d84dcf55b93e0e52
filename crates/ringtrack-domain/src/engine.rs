//! The flow engine: a state machine that takes a call's state and an event (the call
//! arrived, digits were pressed, a dial ended, a voicemail was recorded) and answers the
//! new state and what the carrier should do next. It knows nothing of HTTP or TwiML: the
//! Twilio adapter, the sandbox carrier and the dry run all drive this same code.
//!
//! A call's position is a stack of frames, one per nested step list it has entered (a menu
//! option, a schedule branch, a route). When a nested list ends, the call continues after
//! the step that branched; when the top list ends, the call hangs up.

use serde::{Deserialize, Serialize};

use crate::flow::{Settings, Step, minute_of_day};
use crate::phone::PhoneNumber;

/// A flow version as the engine runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flow {
    pub steps: Vec<Step>,
    pub settings: Settings,
}

/// What is known of a call when its flow runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallFacts {
    pub tracking_number: PhoneNumber,
    /// The tracking number's friendly name: the default whisper.
    pub tracking_name: String,
    pub caller_state: Option<String>,
    pub caller_zip: Option<String>,
    pub at: jiff::Timestamp,
    pub utm_source: Option<String>,
    pub referrer: Option<String>,
    /// This call's turn in the flow's round-robin rotation.
    pub rotation: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verb", rename_all = "snake_case")]
pub enum Instruction {
    Say {
        text: String,
    },
    Play {
        url: String,
    },
    /// Collect one key press, saying `prompt` first.
    Gather {
        prompt: String,
        timeout_seconds: u32,
    },
    /// Ring `numbers` (all at once when several), the first to answer taking the call.
    Dial {
        numbers: Vec<PhoneNumber>,
        timeout_seconds: u32,
        record: bool,
        /// What the answering agent hears before being connected.
        whisper: Option<String>,
        /// The agent must press 1 to accept.
        press1: bool,
    },
    /// Record a voicemail.
    Record {
        max_length_seconds: u32,
        transcribe: bool,
    },
    Hangup,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The keys pressed at a gather; `None` when it timed out.
    Digits(Option<String>),
    /// A dial ended. `agent` is who took the call, when one did (and accepted it, with
    /// press-1 on).
    DialEnded { agent: Option<PhoneNumber> },
    /// The voicemail was recorded (`false` when the caller left nothing).
    VoicemailRecorded { audio: bool },
}

/// Where a call stands. Stored between the carrier's requests.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallState {
    frames: Vec<Frame>,
    waiting: Option<Waiting>,
    /// Counts the engine's answers; callbacks carry it so a repeated one is recognised.
    pub seq: u32,
    /// The agent who took the call.
    pub answered_by: Option<PhoneNumber>,
    /// A voicemail with audio was left.
    pub voicemail: bool,
    pub finished: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Frame {
    /// How to reach this list from the top: (index of the branching step, which branch).
    path: Vec<(usize, Branch)>,
    /// The step being run (or waited on) in this list.
    next: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Branch {
    Option(String),
    Default,
    Open,
    Closed,
    Route(usize),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Waiting {
    Menu { attempts: u32 },
    Dial { tried: usize, start: usize },
    Voicemail,
}

/// A call's progress as kept between the carrier's requests, with what the engine needs
/// beyond its own state. Its shape carries a version: a state written by an older ringtrack
/// is read as it was written, and one that cannot be read at all is recovered (see
/// [`recover`]), never hung up on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedCall {
    /// The shape's version; states written before it had one are version 1.
    #[serde(default = "first_version")]
    pub version: u32,
    /// This call's turn in its flow's round-robin rotation.
    pub rotation: u64,
    /// The tracking number's friendly name: the default whisper.
    pub tracking_name: String,
    pub engine: CallState,
}

/// The version [`SavedCall::to_json`] writes.
pub const SAVED_CALL_VERSION: u32 = 2;

fn first_version() -> u32 {
    1
}

/// A saved call this version of ringtrack cannot read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the call's saved state cannot be read ({0})")]
pub struct UnreadableState(String);

impl SavedCall {
    pub fn new(rotation: u64, tracking_name: String, engine: CallState) -> SavedCall {
        SavedCall { version: SAVED_CALL_VERSION, rotation, tracking_name, engine }
    }

    /// Reads a state of any version this ringtrack knows (1: no version field; 2).
    pub fn read(json: &str) -> Result<SavedCall, UnreadableState> {
        let saved: SavedCall = serde_json::from_str(json).map_err(|e| UnreadableState(e.to_string()))?;
        match saved.version {
            1 | SAVED_CALL_VERSION => Ok(SavedCall { version: SAVED_CALL_VERSION, ..saved }),
            other => Err(UnreadableState(format!("version {other} is newer than this ringtrack"))),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a saved call is JSON")
    }
}

/// The way on for a call whose saved state could not be read: its flow's first
/// destination (a forward, multi-ring or round-robin step of the top list), else its first
/// voicemail step, else a voicemail with the default message; the call then runs on from
/// there as usual. `after_seq` is the sequence number the carrier last saw, so the new
/// state's answers are never mistaken for the old one's.
pub fn recover(flow: &Flow, facts: &CallFacts, after_seq: u32) -> (CallState, Vec<Instruction>) {
    let destination = flow
        .steps
        .iter()
        .position(|s| matches!(s, Step::Forward { .. } | Step::MultiRing { .. } | Step::RoundRobin { .. }))
        .or_else(|| flow.steps.iter().position(|s| matches!(s, Step::Voicemail { .. })));
    let mut state = CallState { seq: after_seq, ..CallState::default() };
    match destination {
        Some(index) => {
            state.frames = vec![Frame { path: Vec::new(), next: index }];
            let out = Runner { flow, facts, state: &mut state, out: Vec::new() }.run();
            (state, out)
        }
        None => {
            // Past the flow's end: once the voicemail is recorded, the call ends.
            state.frames = vec![Frame { path: Vec::new(), next: flow.steps.len() }];
            state.waiting = Some(Waiting::Voicemail);
            state.seq += 1;
            let out = vec![
                Instruction::Say { text: crate::flow::DEFAULT_VOICEMAIL_MESSAGE.into() },
                Instruction::Record { max_length_seconds: 120, transcribe: true },
            ];
            (state, out)
        }
    }
}

impl CallState {
    /// How the call ended, from how far its flow went: answered, voicemail or missed.
    pub fn outcome(&self) -> crate::calls::CallStatus {
        use crate::calls::CallStatus;
        if self.answered_by.is_some() {
            CallStatus::Answered
        } else if self.voicemail {
            CallStatus::Voicemail
        } else {
            CallStatus::Missed
        }
    }
}

/// Starts a call at the first step.
pub fn start(flow: &Flow, facts: &CallFacts) -> (CallState, Vec<Instruction>) {
    let mut state = CallState { frames: vec![Frame { path: Vec::new(), next: 0 }], ..CallState::default() };
    let out = Runner { flow, facts, state: &mut state, out: Vec::new() }.run();
    (state, out)
}

/// Moves a call on by one event. An event the call is not waiting for changes nothing
/// and answers no instruction.
pub fn step(
    flow: &Flow,
    facts: &CallFacts,
    mut state: CallState,
    event: Event,
) -> (CallState, Vec<Instruction>) {
    if state.finished {
        return (state, Vec::new());
    }
    let out = Runner { flow, facts, state: &mut state, out: Vec::new() }.on(event);
    (state, out)
}

struct Runner<'a> {
    flow: &'a Flow,
    facts: &'a CallFacts,
    state: &'a mut CallState,
    out: Vec<Instruction>,
}

impl Runner<'_> {
    fn list(&self, path: &[(usize, Branch)]) -> &[Step] {
        let mut list: &[Step] = &self.flow.steps;
        for (index, branch) in path {
            list = match (&list[*index], branch) {
                (Step::Menu { options, .. }, Branch::Option(key)) => &options[key],
                (Step::Menu { default, .. }, Branch::Default)
                | (Step::GeoRoute { default, .. }, Branch::Default)
                | (Step::SourceRoute { default, .. }, Branch::Default) => default,
                (Step::Schedule { open, .. }, Branch::Open) => open,
                (Step::Schedule { closed, .. }, Branch::Closed) => closed,
                (Step::GeoRoute { routes, .. }, Branch::Route(i)) => &routes[*i].steps,
                (Step::SourceRoute { routes, .. }, Branch::Route(i)) => &routes[*i].steps,
                _ => unreachable!("a frame's path follows the flow it was made from"),
            };
        }
        list
    }

    /// The step the current frame is on.
    fn current(&self) -> Option<&Step> {
        let frame = self.state.frames.last()?;
        self.list(&frame.path).get(frame.next)
    }

    fn advance(&mut self) {
        if let Some(frame) = self.state.frames.last_mut() {
            frame.next += 1;
        }
    }

    fn enter(&mut self, branch: Branch) {
        let frame = self.state.frames.last().expect("entering from a frame");
        let mut path = frame.path.clone();
        path.push((frame.next, branch));
        self.state.frames.push(Frame { path, next: 0 });
    }

    fn finish(&mut self) -> Vec<Instruction> {
        self.out.push(Instruction::Hangup);
        self.state.waiting = None;
        self.state.finished = true;
        self.done()
    }

    fn done(&mut self) -> Vec<Instruction> {
        self.state.seq += 1;
        std::mem::take(&mut self.out)
    }

    fn dial(&mut self, numbers: Vec<PhoneNumber>, timeout_seconds: u32) {
        let settings = &self.flow.settings;
        let whisper = settings
            .whisper
            .then(|| settings.whisper_message.clone().unwrap_or_else(|| self.facts.tracking_name.clone()));
        self.out.push(Instruction::Dial {
            numbers,
            timeout_seconds,
            record: settings.recording,
            whisper,
            press1: settings.press1,
        });
    }

    /// Runs steps until one waits for the caller, a dial or a recording, or the call ends.
    fn run(mut self) -> Vec<Instruction> {
        loop {
            let Some(frame) = self.state.frames.last() else { return self.finish() };
            let list_len = self.list(&frame.path).len();
            if frame.next >= list_len {
                self.state.frames.pop();
                if self.state.frames.is_empty() {
                    return self.finish();
                }
                self.advance();
                continue;
            }
            let step = self.current().expect("in range").clone();
            match step {
                Step::Greeting { message, audio_url } => {
                    if let Some(text) = message {
                        self.out.push(Instruction::Say { text });
                    }
                    if let Some(url) = audio_url {
                        self.out.push(Instruction::Play { url });
                    }
                    self.advance();
                }
                Step::Forward { number, timeout_seconds } => {
                    self.dial(vec![number], timeout_seconds);
                    self.state.waiting = Some(Waiting::Dial { tried: 1, start: 0 });
                    return self.done();
                }
                Step::MultiRing { numbers, timeout_seconds } => {
                    self.dial(numbers, timeout_seconds);
                    self.state.waiting = Some(Waiting::Dial { tried: 1, start: 0 });
                    return self.done();
                }
                Step::RoundRobin { numbers, timeout_seconds } => {
                    let start = (self.facts.rotation % numbers.len() as u64) as usize;
                    self.dial(vec![numbers[start].clone()], timeout_seconds);
                    self.state.waiting = Some(Waiting::Dial { tried: 1, start });
                    return self.done();
                }
                Step::Menu { prompt, timeout_seconds, .. } => {
                    self.out.push(Instruction::Gather { prompt, timeout_seconds });
                    self.state.waiting = Some(Waiting::Menu { attempts: 0 });
                    return self.done();
                }
                Step::Schedule { timezone, hours, holidays, .. } => {
                    let open = is_open(&timezone, &hours, &holidays, self.facts.at);
                    self.enter(if open { Branch::Open } else { Branch::Closed });
                }
                Step::Voicemail { message, max_length_seconds, transcribe } => {
                    self.out.push(Instruction::Say { text: message });
                    self.out.push(Instruction::Record { max_length_seconds, transcribe });
                    self.state.waiting = Some(Waiting::Voicemail);
                    return self.done();
                }
                Step::GeoRoute { routes, .. } => {
                    let state = self.facts.caller_state.as_deref().map(str::to_ascii_uppercase);
                    let zip = self.facts.caller_zip.as_deref();
                    let hit = routes.iter().position(|r| {
                        state.as_ref().is_some_and(|s| r.states.contains(s))
                            || zip.is_some_and(|z| r.zips.iter().any(|rz| rz == z))
                    });
                    self.enter(hit.map_or(Branch::Default, Branch::Route));
                }
                Step::SourceRoute { routes, .. } => {
                    let source = self.facts.utm_source.as_deref().map(str::to_lowercase);
                    let host = self.facts.referrer.as_deref().and_then(referrer_host);
                    let hit = routes.iter().position(|r| {
                        r.utm_source.as_ref().is_some_and(|u| source.as_ref() == Some(u))
                            || r.referrer_domain
                                .as_ref()
                                .zip(host.as_ref())
                                .is_some_and(|(d, h)| h == d || h.ends_with(&format!(".{d}")))
                    });
                    self.enter(hit.map_or(Branch::Default, Branch::Route));
                }
                Step::Hangup => return self.finish(),
            }
        }
    }

    fn on(mut self, event: Event) -> Vec<Instruction> {
        let waiting = self.state.waiting.clone();
        match (waiting, event, self.current().cloned()) {
            (
                Some(Waiting::Menu { attempts }),
                Event::Digits(digits),
                Some(Step::Menu { options, default, retries, prompt, timeout_seconds }),
            ) => {
                let chosen = digits.as_deref().and_then(|d| d.chars().next()).map(String::from);
                match chosen.filter(|key| options.contains_key(key)) {
                    Some(key) => {
                        self.state.waiting = None;
                        self.enter(Branch::Option(key));
                        self.run()
                    }
                    None if attempts < retries => {
                        let text = if digits.is_some() {
                            "Sorry, that is not a valid choice."
                        } else {
                            "Sorry, we did not get your choice."
                        };
                        self.out.push(Instruction::Say { text: text.into() });
                        self.out.push(Instruction::Gather { prompt, timeout_seconds });
                        self.state.waiting = Some(Waiting::Menu { attempts: attempts + 1 });
                        self.done()
                    }
                    None => {
                        self.state.waiting = None;
                        if default.is_empty() {
                            self.advance();
                        } else {
                            self.enter(Branch::Default);
                        }
                        self.run()
                    }
                }
            }
            (Some(Waiting::Dial { tried, start }), Event::DialEnded { agent }, Some(step)) => {
                if let Some(agent) = agent {
                    self.state.answered_by = Some(agent);
                    return self.finish();
                }
                if let Step::RoundRobin { numbers, timeout_seconds } = step
                    && tried < numbers.len()
                {
                    let next = numbers[(start + tried) % numbers.len()].clone();
                    self.dial(vec![next], timeout_seconds);
                    self.state.waiting = Some(Waiting::Dial { tried: tried + 1, start });
                    return self.done();
                }
                self.state.waiting = None;
                self.advance();
                self.run()
            }
            (Some(Waiting::Voicemail), Event::VoicemailRecorded { audio }, _) => {
                self.state.voicemail = audio;
                self.finish()
            }
            _ => Vec::new(),
        }
    }
}

/// Whether a schedule is open at `at`, in its own time zone, holidays closed.
pub fn is_open(
    timezone: &str,
    hours: &std::collections::BTreeMap<String, Vec<[String; 2]>>,
    holidays: &[String],
    at: jiff::Timestamp,
) -> bool {
    let Ok(tz) = jiff::tz::TimeZone::get(timezone) else { return false };
    let local = at.to_zoned(tz);
    let date = local.date().to_string();
    if holidays.contains(&date) {
        return false;
    }
    let day = crate::flow::DAYS[local.weekday().to_monday_zero_offset() as usize];
    let minute = u32::from(local.hour() as u8) * 60 + u32::from(local.minute() as u8);
    hours.get(day).is_some_and(|ranges| {
        ranges.iter().any(|[from, to]| match (minute_of_day(from), minute_of_day(to)) {
            (Some(from), Some(to)) => (from..to).contains(&minute),
            _ => false,
        })
    })
}

/// The host of a referrer URL, lowercased, without `www.`.
fn referrer_host(referrer: &str) -> Option<String> {
    let rest = referrer.split_once("://").map_or(referrer, |(_, rest)| rest);
    let host = rest.split(['/', '?', '#', ':']).next()?.to_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_owned();
    (!host.is_empty()).then_some(host)
}

/// A scripted caller for a dry run: the digits pressed at each menu (one per menu), whether
/// agents answer, and whether a voicemail is left.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    pub digits: String,
    pub answer: bool,
    pub leaves_voicemail: bool,
}

/// One exchange of a dry run: the event, and what the engine answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TraceEntry {
    pub event: String,
    pub instructions: Vec<Instruction>,
}

/// Runs a whole call against a script without any I/O: what would happen.
pub fn dry_run(flow: &Flow, facts: &CallFacts, script: &Script) -> (CallState, Vec<TraceEntry>) {
    let (mut state, mut instructions) = start(flow, facts);
    let mut trace = vec![TraceEntry { event: "arrived".into(), instructions: instructions.clone() }];
    let mut digits = script.digits.chars();
    // Each exchange moves the call on; a flow cannot loop, but a script is bounded anyway.
    for _ in 0..200 {
        let event = match instructions.last() {
            Some(Instruction::Gather { .. }) => Event::Digits(digits.next().map(String::from)),
            Some(Instruction::Dial { numbers, .. }) => {
                Event::DialEnded { agent: script.answer.then(|| numbers[0].clone()) }
            }
            Some(Instruction::Record { .. }) => Event::VoicemailRecorded { audio: script.leaves_voicemail },
            _ => break,
        };
        let label = match &event {
            Event::Digits(Some(d)) => format!("digits {d}"),
            Event::Digits(None) => "no digits (timeout)".into(),
            Event::DialEnded { agent: Some(a) } => format!("answered by {a}"),
            Event::DialEnded { agent: None } => "not answered".into(),
            Event::VoicemailRecorded { audio } => {
                format!("voicemail recorded ({})", if *audio { "audio" } else { "silence" })
            }
        };
        (state, instructions) = step(flow, facts, state, event);
        trace.push(TraceEntry { event: label, instructions: instructions.clone() });
    }
    (state, trace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{parse_settings, parse_steps};
    use serde_json::{Value, json};

    fn flow(steps: Value, settings: Value) -> Flow {
        Flow { steps: parse_steps(&steps).unwrap(), settings: parse_settings(Some(&settings)).unwrap() }
    }

    fn facts() -> CallFacts {
        CallFacts {
            tracking_number: PhoneNumber::parse("+15735559876").unwrap(),
            tracking_name: "Google Ads".into(),
            caller_state: Some("FL".into()),
            caller_zip: Some("33101".into()),
            // A Monday, 14:30 UTC = 09:30 in Chicago.
            at: "2026-03-23T14:30:00Z".parse().unwrap(),
            utm_source: None,
            referrer: None,
            rotation: 0,
        }
    }

    fn n(s: &str) -> PhoneNumber {
        PhoneNumber::parse(s).unwrap()
    }

    fn say(text: &str) -> Instruction {
        Instruction::Say { text: text.into() }
    }

    fn dial(numbers: &[&str], timeout: u32, settings: &Settings, name: &str) -> Instruction {
        Instruction::Dial {
            numbers: numbers.iter().map(|s| n(s)).collect(),
            timeout_seconds: timeout,
            record: settings.recording,
            whisper: settings.whisper.then(|| settings.whisper_message.clone().unwrap_or(name.into())),
            press1: settings.press1,
        }
    }

    #[test]
    fn saved_calls_of_every_known_version_are_read() {
        let (engine, _) =
            start(&flow(json!([{"type": "forward", "number": "3055554567"}]), json!({})), &facts());
        let saved = SavedCall::new(3, "Google Ads".into(), engine.clone());
        assert_eq!(SavedCall::read(&saved.to_json()).unwrap(), saved);
        // Version 1: written before states carried a version.
        let first = json!({"rotation": 3, "tracking_name": "Google Ads", "engine": engine}).to_string();
        assert_eq!(SavedCall::read(&first).unwrap(), saved);
        assert!(
            SavedCall::read(
                &json!({"version": 99, "rotation": 0, "tracking_name": "", "engine": engine}).to_string()
            )
            .is_err()
        );
        assert!(
            SavedCall::read(r#"{"rotation":0,"tracking_name":"x","engine":{"position":[0,1]}}"#).is_err()
        );
    }

    #[test]
    fn an_unreadable_call_goes_on_to_the_first_destination_else_voicemail() {
        let f = flow(
            json!([{"type": "greeting", "message": "Hi"}, {"type": "menu", "prompt": "Press 1", "options": {"1": [{"type": "hangup"}]}},
                   {"type": "forward", "number": "3055554567"}, {"type": "voicemail"}]),
            json!({}),
        );
        let (state, out) = recover(&f, &facts(), 7);
        assert_eq!(out, [dial(&["+13055554567"], 30, &f.settings, "Google Ads")]);
        assert_eq!(state.seq, 8, "after the sequence the carrier saw");
        // Unanswered, it runs on as usual: to the voicemail after the forward.
        let (_, out) = step(&f, &facts(), state, Event::DialEnded { agent: None });
        assert!(matches!(out.last(), Some(Instruction::Record { .. })), "{out:?}");

        let only_voicemail = flow(
            json!([{"type": "greeting", "message": "Hi"}, {"type": "voicemail", "message": "Leave one"}]),
            json!({}),
        );
        assert_eq!(
            recover(&only_voicemail, &facts(), 0).1,
            [say("Leave one"), Instruction::Record { max_length_seconds: 120, transcribe: true }]
        );

        let neither = flow(json!([{"type": "greeting", "message": "Hi"}]), json!({}));
        let (state, out) = recover(&neither, &facts(), 2);
        assert_eq!(
            out,
            [
                say(crate::flow::DEFAULT_VOICEMAIL_MESSAGE),
                Instruction::Record { max_length_seconds: 120, transcribe: true }
            ]
        );
        let (state, out) = step(&neither, &facts(), state, Event::VoicemailRecorded { audio: true });
        assert_eq!(out, [Instruction::Hangup]);
        assert!(state.voicemail && state.finished);
    }

    #[test]
    fn greeting_then_forward_answered_ends_the_call() {
        let f = flow(
            json!([{"type": "greeting", "message": "Thanks for calling"}, {"type": "forward", "number": "3055554567"}]),
            json!({"recording": true, "whisper": true}),
        );
        let (state, out) = start(&f, &facts());
        assert_eq!(out, [say("Thanks for calling"), dial(&["+13055554567"], 30, &f.settings, "Google Ads")]);
        assert_eq!(state.seq, 1);
        let (state, out) = step(&f, &facts(), state, Event::DialEnded { agent: Some(n("+13055554567")) });
        assert_eq!(out, [Instruction::Hangup]);
        assert_eq!(state.answered_by, Some(n("+13055554567")));
        assert!(state.finished);
        // Once finished, nothing more happens.
        let (after, out) = step(&f, &facts(), state.clone(), Event::Digits(Some("1".into())));
        assert!(out.is_empty());
        assert_eq!(after, state);
    }

    #[test]
    fn a_forward_not_answered_falls_through_to_voicemail() {
        let f = flow(
            json!([{"type": "forward", "number": "3055554567", "timeout_seconds": 20}, {"type": "voicemail", "message": "Leave a message"}]),
            json!({}),
        );
        let (state, _) = start(&f, &facts());
        let (state, out) = step(&f, &facts(), state, Event::DialEnded { agent: None });
        assert_eq!(
            out,
            [say("Leave a message"), Instruction::Record { max_length_seconds: 120, transcribe: true }]
        );
        let (state, out) = step(&f, &facts(), state, Event::VoicemailRecorded { audio: true });
        assert_eq!(out, [Instruction::Hangup]);
        assert!(state.voicemail && state.answered_by.is_none());
    }

    #[test]
    fn the_end_of_the_steps_hangs_up() {
        let f = flow(json!([{"type": "greeting", "message": "We are closed"}]), json!({}));
        let (state, out) = start(&f, &facts());
        assert_eq!(out, [say("We are closed"), Instruction::Hangup]);
        assert!(state.finished);
    }

    #[test]
    fn a_menu_routes_by_digit_and_continues_after_the_branch() {
        let f = flow(
            json!([
                {"type": "menu", "prompt": "Press 1 for sales, 2 for support", "options": {
                    "1": [{"type": "forward", "number": "3055551001"}],
                    "2": [{"type": "greeting", "message": "Support is busy"}]}},
                {"type": "greeting", "message": "Goodbye"}
            ]),
            json!({"recording": false}),
        );
        let (state, out) = start(&f, &facts());
        assert_eq!(
            out,
            [Instruction::Gather { prompt: "Press 1 for sales, 2 for support".into(), timeout_seconds: 5 }]
        );
        let (sales, out) = step(&f, &facts(), state.clone(), Event::Digits(Some("1".into())));
        assert_eq!(out, [dial(&["+13055551001"], 30, &f.settings, "")]);
        assert!(!sales.finished);
        // Support's branch ends; the call continues after the menu.
        let (_, out) = step(&f, &facts(), state, Event::Digits(Some("2".into())));
        assert_eq!(out, [say("Support is busy"), say("Goodbye"), Instruction::Hangup]);
    }

    #[test]
    fn invalid_menu_input_is_retried_then_takes_the_default() {
        let f = flow(
            json!([{"type": "menu", "prompt": "Press 1", "retries": 1, "options": {"1": [{"type": "hangup"}]},
                    "default": [{"type": "voicemail"}]}]),
            json!({}),
        );
        let (state, _) = start(&f, &facts());
        let (state, out) = step(&f, &facts(), state, Event::Digits(Some("7".into())));
        assert_eq!(
            out,
            [
                say("Sorry, that is not a valid choice."),
                Instruction::Gather { prompt: "Press 1".into(), timeout_seconds: 5 }
            ]
        );
        let (_, out) = step(&f, &facts(), state, Event::Digits(None));
        assert!(matches!(out.last(), Some(Instruction::Record { .. })), "{out:?}");
    }

    #[test]
    fn a_menu_without_a_default_moves_on_after_its_retries() {
        let f = flow(
            json!([{"type": "menu", "prompt": "Press 1", "retries": 0, "options": {"1": [{"type": "hangup"}]}},
                   {"type": "greeting", "message": "No choice made"}]),
            json!({}),
        );
        let (state, _) = start(&f, &facts());
        let (_, out) = step(&f, &facts(), state, Event::Digits(None));
        assert_eq!(out, [say("No choice made"), Instruction::Hangup]);
    }

    #[test]
    fn schedules_follow_their_time_zone_and_holidays() {
        let steps = |holidays: Value| {
            json!([{"type": "schedule", "timezone": "America/Chicago", "hours": {"mon": [["09:00", "17:00"]]},
                "holidays": holidays,
                "open": [{"type": "menu", "prompt": "Open: press 1", "options": {"1": [{"type": "forward", "number": "3055551001"}]}}],
                "closed": [{"type": "voicemail", "message": "We are closed"}]}])
        };
        let f = flow(steps(json!([])), json!({}));
        // 09:30 in Chicago on a Monday: open, and the menu inside the schedule runs.
        let (_, out) = start(&f, &facts());
        assert_eq!(out, [Instruction::Gather { prompt: "Open: press 1".into(), timeout_seconds: 5 }]);
        // 08:30 in Chicago: closed.
        let early = CallFacts { at: "2026-03-23T13:30:00Z".parse().unwrap(), ..facts() };
        let (_, out) = start(&f, &early);
        assert_eq!(out[0], say("We are closed"));
        // Tuesday is not listed: closed.
        let tuesday = CallFacts { at: "2026-03-24T15:00:00Z".parse().unwrap(), ..facts() };
        assert_eq!(start(&f, &tuesday).1[0], say("We are closed"));
        // A holiday closes an open hour.
        let holiday = flow(steps(json!(["2026-03-23"])), json!({}));
        assert_eq!(start(&holiday, &facts()).1[0], say("We are closed"));
    }

    #[test]
    fn round_robin_rotates_the_first_agent_and_tries_each_once() {
        let f = flow(
            json!([{"type": "round_robin", "numbers": ["3055551001", "3055551002", "3055551003"]}, {"type": "hangup"}]),
            json!({"recording": false}),
        );
        let first_dialled = |rotation: u64| match &start(&f, &CallFacts { rotation, ..facts() }).1[0] {
            Instruction::Dial { numbers, .. } => numbers[0].to_string(),
            other => panic!("{other:?}"),
        };
        assert_eq!(first_dialled(0), "+13055551001");
        assert_eq!(first_dialled(1), "+13055551002");
        assert_eq!(first_dialled(5), "+13055551003");
        // Nobody answers: each agent is tried once, from the rotation's start, then the flow moves on.
        let facts = CallFacts { rotation: 1, ..facts() };
        let (mut state, _) = start(&f, &facts);
        let mut dialled = Vec::new();
        loop {
            let (next, out) = step(&f, &facts, state, Event::DialEnded { agent: None });
            state = next;
            match &out[0] {
                Instruction::Dial { numbers, .. } => dialled.push(numbers[0].to_string()),
                Instruction::Hangup => break,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(dialled, ["+13055551003", "+13055551001"]);
    }

    #[test]
    fn press1_and_whisper_travel_with_every_dial() {
        let f = flow(
            json!([{"type": "multi_ring", "numbers": ["3055551001", "3055551002"]}, {"type": "voicemail"}]),
            json!({"whisper": true, "whisper_message": "Call from Google Ads, press 1 to accept", "press1": true}),
        );
        let (state, out) = start(&f, &facts());
        assert_eq!(
            out,
            [Instruction::Dial {
                numbers: vec![n("3055551001"), n("3055551002")],
                timeout_seconds: 30,
                record: true,
                whisper: Some("Call from Google Ads, press 1 to accept".into()),
                press1: true,
            }]
        );
        // press1 refused (reported as not answered): the caller reaches voicemail.
        let (_, out) = step(&f, &facts(), state, Event::DialEnded { agent: None });
        assert!(matches!(out.last(), Some(Instruction::Record { .. })));
    }

    #[test]
    fn geo_and_source_routes_pick_their_branch() {
        let f = flow(
            json!([
                {"type": "geo_route", "routes": [{"states": ["TX"], "steps": [{"type": "greeting", "message": "Texas"}]},
                                                  {"zips": ["33101"], "steps": [{"type": "greeting", "message": "Miami"}]}],
                 "default": [{"type": "greeting", "message": "Elsewhere"}]},
                {"type": "source_route", "routes": [{"utm_source": "google", "steps": [{"type": "greeting", "message": "Google"}]},
                                                     {"referrer_domain": "yelp.com", "steps": [{"type": "greeting", "message": "Yelp"}]}],
                 "default": [{"type": "greeting", "message": "Direct"}]}
            ]),
            json!({}),
        );
        assert_eq!(start(&f, &facts()).1, [say("Miami"), say("Direct"), Instruction::Hangup]);
        let texan_from_yelp = CallFacts {
            caller_state: Some("tx".into()),
            caller_zip: None,
            referrer: Some("https://m.yelp.com/biz/acme".into()),
            ..facts()
        };
        assert_eq!(start(&f, &texan_from_yelp).1, [say("Texas"), say("Yelp"), Instruction::Hangup]);
        let googler =
            CallFacts { caller_state: None, caller_zip: None, utm_source: Some("Google".into()), ..facts() };
        assert_eq!(start(&f, &googler).1, [say("Elsewhere"), say("Google"), Instruction::Hangup]);
    }

    #[test]
    fn events_that_are_not_awaited_change_nothing() {
        let f = flow(json!([{"type": "forward", "number": "3055554567"}]), json!({}));
        let (state, _) = start(&f, &facts());
        let (after, out) = step(&f, &facts(), state.clone(), Event::Digits(Some("1".into())));
        assert!(out.is_empty());
        assert_eq!(after, state);
    }

    #[test]
    fn a_dry_run_follows_the_script() {
        let f = flow(
            json!([{"type": "menu", "prompt": "Press 1", "options": {"1": [{"type": "forward", "number": "3055551001"}]}},
                   {"type": "voicemail"}]),
            json!({}),
        );
        let (state, trace) =
            dry_run(&f, &facts(), &Script { digits: "1".into(), answer: false, leaves_voicemail: true });
        let events: Vec<&str> = trace.iter().map(|t| t.event.as_str()).collect();
        assert_eq!(events, ["arrived", "digits 1", "not answered", "voicemail recorded (audio)"]);
        assert!(state.voicemail && state.finished);
        let (state, _) =
            dry_run(&f, &facts(), &Script { digits: "1".into(), answer: true, leaves_voicemail: false });
        assert_eq!(state.answered_by, Some(n("3055551001")));
    }

    #[test]
    fn state_survives_storage() {
        let f = flow(
            json!([{"type": "menu", "prompt": "p", "options": {"1": [{"type": "forward", "number": "3055551001"}]}}]),
            json!({}),
        );
        let (state, _) = start(&f, &facts());
        let (state, _) = step(&f, &facts(), state, Event::Digits(Some("1".into())));
        let stored = serde_json::to_string(&state).unwrap();
        let back: CallState = serde_json::from_str(&stored).unwrap();
        assert_eq!(back, state);
        let (done, out) = step(&f, &facts(), back, Event::DialEnded { agent: Some(n("3055551001")) });
        assert_eq!(out, [Instruction::Hangup]);
        assert!(done.finished);
    }
}
