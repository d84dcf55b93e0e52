//! Call flows: the steps a call runs through, and the settings that apply to every
//! forward. Input arrives as JSON and is checked here field by field, so that a refusal
//! names the exact place (`steps[2].options.1[0].number`) and every mistake is reported at
//! once. What passes is a [`Flow`], which serialises back to the same JSON shape with
//! phone numbers normalised and defaults filled in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::phone::PhoneNumber;
use crate::validation::FieldErrors;

/// Step lists may nest (a menu option, a schedule branch, a route) at most this deep,
/// counting the top-level list as 1.
pub const MAX_DEPTH: usize = 5;
pub const MAX_MULTI_RING: usize = 10;
const MAX_STEPS: usize = 50;
const MAX_TEXT: usize = 1000;

pub const DEFAULT_VOICEMAIL_MESSAGE: &str = "Please leave a message after the tone.";
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Step {
    Greeting {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audio_url: Option<String>,
    },
    Forward {
        number: PhoneNumber,
        timeout_seconds: u32,
    },
    MultiRing {
        numbers: Vec<PhoneNumber>,
        timeout_seconds: u32,
    },
    RoundRobin {
        numbers: Vec<PhoneNumber>,
        timeout_seconds: u32,
    },
    Menu {
        prompt: String,
        options: BTreeMap<String, Vec<Step>>,
        default: Vec<Step>,
        timeout_seconds: u32,
        retries: u32,
    },
    Schedule {
        timezone: String,
        /// Day (`mon`…`sun`) to opening ranges `["09:00", "17:00"]`; a day not listed is closed.
        hours: BTreeMap<String, Vec<[String; 2]>>,
        holidays: Vec<String>,
        open: Vec<Step>,
        closed: Vec<Step>,
    },
    Voicemail {
        message: String,
        max_length_seconds: u32,
        transcribe: bool,
    },
    GeoRoute {
        routes: Vec<GeoRoute>,
        default: Vec<Step>,
    },
    SourceRoute {
        routes: Vec<SourceRoute>,
        default: Vec<Step>,
    },
    Hangup,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeoRoute {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub states: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zips: Vec<String>,
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRoute {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer_domain: Option<String>,
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Record both legs of answered calls.
    pub recording: bool,
    /// The answering agent hears `whisper_message` before being connected.
    pub whisper: bool,
    /// What the whisper says; default: the tracking number's friendly name.
    #[serde(default)]
    pub whisper_message: Option<String>,
    /// The agent must press 1 to accept the call.
    pub press1: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { recording: true, whisper: false, whisper_message: None, press1: false }
    }
}

/// What the flow says to callers (greetings, menu prompts, voicemail messages), every
/// branch in order: the words its recordings are likely to hold.
pub fn spoken(steps: &[Step]) -> Vec<String> {
    let mut said = Vec::new();
    let mut pending: Vec<&Step> = steps.iter().rev().collect();
    while let Some(step) = pending.pop() {
        let branches: Vec<&Vec<Step>> = match step {
            Step::Greeting { message: Some(message), .. } => {
                said.push(message.clone());
                Vec::new()
            }
            Step::Voicemail { message, .. } => {
                said.push(message.clone());
                Vec::new()
            }
            Step::Menu { prompt, options, default, .. } => {
                said.push(prompt.clone());
                options.values().chain([default]).collect()
            }
            Step::Schedule { open, closed, .. } => vec![open, closed],
            Step::GeoRoute { routes, default } => routes.iter().map(|r| &r.steps).chain([default]).collect(),
            Step::SourceRoute { routes, default } => {
                routes.iter().map(|r| &r.steps).chain([default]).collect()
            }
            _ => Vec::new(),
        };
        // Depth first, in the order the branches are written.
        pending.extend(branches.into_iter().rev().flat_map(|branch| branch.iter().rev()));
    }
    said
}

/// Checks a flow's `steps` JSON.
pub fn parse_steps(value: &Value) -> Result<Vec<Step>, FieldErrors> {
    let mut checker = Checker::default();
    let steps = checker.steps("steps", value, 1);
    checker.errors.finish(steps.unwrap_or_default())
}

/// Checks a flow's `settings` JSON (absent: the defaults).
pub fn parse_settings(value: Option<&Value>) -> Result<Settings, FieldErrors> {
    let mut c = Checker::default();
    let defaults = Settings::default();
    let Some(value) = value.filter(|v| !v.is_null()) else { return Ok(defaults) };
    let Some(map) = c.object("settings", value) else { return Err(c.errors) };
    c.known_keys("settings", map, &["recording", "whisper", "whisper_message", "press1"]);
    let settings = Settings {
        recording: c.boolean("settings", map, "recording", defaults.recording),
        whisper: c.boolean("settings", map, "whisper", defaults.whisper),
        whisper_message: c.text("settings", map, "whisper_message", false),
        press1: c.boolean("settings", map, "press1", defaults.press1),
    };
    c.errors.finish(settings)
}

/// Walks JSON, gathering every refusal with its path.
#[derive(Default)]
struct Checker {
    errors: FieldErrors,
}

fn at(path: &str, key: &str) -> String {
    format!("{path}.{key}")
}

impl Checker {
    fn fail(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(path, message);
    }

    fn object<'v>(&mut self, path: &str, value: &'v Value) -> Option<&'v Map<String, Value>> {
        let object = value.as_object();
        if object.is_none() {
            self.fail(path, "must be an object");
        }
        object
    }

    fn known_keys(&mut self, path: &str, map: &Map<String, Value>, allowed: &[&str]) {
        for key in map.keys().filter(|k| !allowed.contains(&k.as_str()) && *k != "type") {
            self.fail(at(path, key), "is not a known field");
        }
    }

    fn text(&mut self, path: &str, map: &Map<String, Value>, key: &str, required: bool) -> Option<String> {
        match map.get(key) {
            None | Some(Value::Null) => {
                if required {
                    self.fail(at(path, key), "is required");
                }
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.fail(at(path, key), "must not be empty");
                None
            }
            Some(Value::String(s)) => match crate::validation::parse_text(&at(path, key), s, MAX_TEXT) {
                Ok(text) => Some(text),
                Err(refused) => {
                    self.fail(refused.field, refused.message);
                    None
                }
            },
            Some(_) => {
                self.fail(at(path, key), "must be a string");
                None
            }
        }
    }

    fn boolean(&mut self, path: &str, map: &Map<String, Value>, key: &str, default: bool) -> bool {
        match map.get(key) {
            None | Some(Value::Null) => default,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                self.fail(at(path, key), "must be true or false");
                default
            }
        }
    }

    fn seconds(
        &mut self,
        path: &str,
        map: &Map<String, Value>,
        key: &str,
        default: u32,
        range: (u32, u32),
    ) -> u32 {
        match map.get(key) {
            None | Some(Value::Null) => default,
            Some(v) => match v.as_u64() {
                Some(n) if (u64::from(range.0)..=u64::from(range.1)).contains(&n) => n as u32,
                _ => {
                    self.fail(
                        at(path, key),
                        format!("must be a whole number from {} to {}", range.0, range.1),
                    );
                    default
                }
            },
        }
    }

    fn phone(&mut self, path: String, value: &Value) -> Option<PhoneNumber> {
        match value.as_str().map(PhoneNumber::parse) {
            Some(Ok(number)) => Some(number),
            _ => {
                self.fail(path, "is not a valid phone number");
                None
            }
        }
    }

    fn phones(&mut self, path: &str, map: &Map<String, Value>, key: &str, max: usize) -> Vec<PhoneNumber> {
        let path = at(path, key);
        let Some(list) = map.get(key).and_then(Value::as_array) else {
            self.fail(path, "must be a list of phone numbers");
            return Vec::new();
        };
        if list.is_empty() || list.len() > max {
            self.fail(path.clone(), format!("must hold 1 to {max} numbers"));
        }
        list.iter().enumerate().filter_map(|(i, v)| self.phone(format!("{path}[{i}]"), v)).collect()
    }

    fn strings(
        &mut self,
        path: String,
        value: Option<&Value>,
        check: impl Fn(&str) -> bool,
        what: &str,
    ) -> Vec<String> {
        let Some(value) = value.filter(|v| !v.is_null()) else { return Vec::new() };
        let Some(list) = value.as_array() else {
            self.fail(path, format!("must be a list of {what}"));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in list.iter().enumerate() {
            match item.as_str().map(str::trim) {
                Some(s) if check(s) => out.push(s.to_owned()),
                _ => self.fail(format!("{path}[{i}]"), format!("must be one of {what}")),
            }
        }
        out
    }

    /// A list of steps at `path`; `depth` is this list's nesting (the top level is 1).
    fn steps(&mut self, path: &str, value: &Value, depth: usize) -> Option<Vec<Step>> {
        if depth > MAX_DEPTH {
            self.fail(path, format!("steps may nest at most {MAX_DEPTH} deep"));
            return None;
        }
        let Some(list) = value.as_array() else {
            self.fail(path, "must be a list of steps");
            return None;
        };
        if depth == 1 && list.is_empty() {
            self.fail(path, "must hold at least one step");
        }
        if list.len() > MAX_STEPS {
            self.fail(path, format!("must hold at most {MAX_STEPS} steps"));
        }
        Some(
            list.iter()
                .enumerate()
                .filter_map(|(i, step)| self.step(&format!("{path}[{i}]"), step, depth))
                .collect(),
        )
    }

    /// Nested steps under `key`; absent means none.
    fn branch(&mut self, path: &str, map: &Map<String, Value>, key: &str, depth: usize) -> Vec<Step> {
        match map.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(value) => self.steps(&at(path, key), value, depth + 1).unwrap_or_default(),
        }
    }

    fn step(&mut self, path: &str, value: &Value, depth: usize) -> Option<Step> {
        let map = self.object(path, value)?;
        let Some(kind) = map.get("type").and_then(Value::as_str) else {
            self.fail(at(path, "type"), "is required");
            return None;
        };
        let keys = |c: &mut Self, allowed: &[&str]| c.known_keys(path, map, allowed);
        let step = match kind {
            "greeting" => {
                keys(self, &["message", "audio_url"]);
                let message = self.text(path, map, "message", false);
                let audio_url = self.text(path, map, "audio_url", false);
                if let Some(url) = &audio_url
                    && !(url.starts_with("https://") || url.starts_with("http://"))
                {
                    self.fail(at(path, "audio_url"), "must be an http(s) URL");
                }
                // Said once: a message or URL refused above was given, just not well.
                let given = |key: &str| map.get(key).is_some_and(|v| !v.is_null());
                if given("message") == given("audio_url") {
                    self.fail(at(path, "message"), "give either message or audio_url");
                }
                Step::Greeting { message, audio_url }
            }
            "forward" => {
                keys(self, &["number", "timeout_seconds"]);
                let number = match map.get("number") {
                    Some(v) => self.phone(at(path, "number"), v),
                    None => {
                        self.fail(at(path, "number"), "is required");
                        None
                    }
                };
                let timeout_seconds = self.seconds(path, map, "timeout_seconds", 30, (5, 120));
                Step::Forward { number: number?, timeout_seconds }
            }
            "multi_ring" => {
                keys(self, &["numbers", "timeout_seconds"]);
                let numbers = self.phones(path, map, "numbers", MAX_MULTI_RING);
                let timeout_seconds = self.seconds(path, map, "timeout_seconds", 30, (5, 120));
                Step::MultiRing { numbers, timeout_seconds }
            }
            "round_robin" => {
                keys(self, &["numbers", "timeout_seconds"]);
                let numbers = self.phones(path, map, "numbers", 50);
                let timeout_seconds = self.seconds(path, map, "timeout_seconds", 20, (5, 120));
                Step::RoundRobin { numbers, timeout_seconds }
            }
            "menu" => {
                keys(self, &["prompt", "options", "default", "timeout_seconds", "retries"]);
                let prompt = self.text(path, map, "prompt", true).unwrap_or_default();
                let mut options = BTreeMap::new();
                match map.get("options").and_then(Value::as_object) {
                    Some(given) if !given.is_empty() => {
                        for (key, steps) in given {
                            let option_path = at(&at(path, "options"), key);
                            if !is_menu_key(key) {
                                self.fail(option_path.clone(), "menu keys are 0-9, * and #");
                            }
                            let steps = self.steps(&option_path, steps, depth + 1).unwrap_or_default();
                            options.insert(key.clone(), steps);
                        }
                    }
                    _ => self.fail(at(path, "options"), "must map at least one key (0-9, *, #) to steps"),
                }
                let default = self.branch(path, map, "default", depth);
                let timeout_seconds = self.seconds(path, map, "timeout_seconds", 5, (1, 30));
                let retries = self.seconds(path, map, "retries", 2, (0, 5));
                Step::Menu { prompt, options, default, timeout_seconds, retries }
            }
            "schedule" => {
                keys(self, &["timezone", "hours", "holidays", "open", "closed"]);
                let timezone = self.text(path, map, "timezone", true).unwrap_or_default();
                if !timezone.is_empty() && jiff::tz::TimeZone::get(&timezone).is_err() {
                    self.fail(at(path, "timezone"), "is not an IANA time zone (e.g. America/Chicago)");
                }
                let hours = self.hours(&at(path, "hours"), map.get("hours"));
                let holidays = self.strings(
                    at(path, "holidays"),
                    map.get("holidays"),
                    |d| d.parse::<jiff::civil::Date>().is_ok(),
                    "dates (2026-12-25)",
                );
                let open = self.branch(path, map, "open", depth);
                let closed = self.branch(path, map, "closed", depth);
                Step::Schedule { timezone, hours, holidays, open, closed }
            }
            "voicemail" => {
                keys(self, &["message", "max_length_seconds", "transcribe"]);
                let message = self
                    .text(path, map, "message", false)
                    .unwrap_or_else(|| DEFAULT_VOICEMAIL_MESSAGE.to_owned());
                let max_length_seconds = self.seconds(path, map, "max_length_seconds", 120, (5, 600));
                let transcribe = self.boolean(path, map, "transcribe", true);
                Step::Voicemail { message, max_length_seconds, transcribe }
            }
            "geo_route" => {
                keys(self, &["routes", "default"]);
                let routes = self.routes(path, map, depth, |c, route_path, route, depth| {
                    c.known_keys(route_path, route, &["states", "zips", "steps"]);
                    let states = c.strings(
                        at(route_path, "states"),
                        route.get("states"),
                        |s| s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic()),
                        "two-letter state codes",
                    );
                    let zips = c.strings(
                        at(route_path, "zips"),
                        route.get("zips"),
                        |z| z.len() == 5 && z.bytes().all(|b| b.is_ascii_digit()),
                        "five-digit ZIP codes",
                    );
                    if states.is_empty() && zips.is_empty() {
                        c.fail(at(route_path, "states"), "give states or zips to match");
                    }
                    let states = states.into_iter().map(|s| s.to_ascii_uppercase()).collect();
                    let steps = c.branch(route_path, route, "steps", depth);
                    GeoRoute { states, zips, steps }
                });
                let default = self.branch(path, map, "default", depth);
                Step::GeoRoute { routes, default }
            }
            "source_route" => {
                keys(self, &["routes", "default"]);
                let routes = self.routes(path, map, depth, |c, route_path, route, depth| {
                    c.known_keys(route_path, route, &["utm_source", "referrer_domain", "steps"]);
                    let utm_source = c.text(route_path, route, "utm_source", false).map(|s| s.to_lowercase());
                    let referrer_domain =
                        c.text(route_path, route, "referrer_domain", false).map(|s| s.to_lowercase());
                    if utm_source.is_none() && referrer_domain.is_none() {
                        c.fail(at(route_path, "utm_source"), "give utm_source or referrer_domain to match");
                    }
                    let steps = c.branch(route_path, route, "steps", depth);
                    SourceRoute { utm_source, referrer_domain, steps }
                });
                let default = self.branch(path, map, "default", depth);
                Step::SourceRoute { routes, default }
            }
            "hangup" => {
                keys(self, &[]);
                Step::Hangup
            }
            other => {
                self.fail(at(path, "type"), format!("{other:?} is not a step type"));
                return None;
            }
        };
        Some(step)
    }

    fn routes<R>(
        &mut self,
        path: &str,
        map: &Map<String, Value>,
        depth: usize,
        route: impl Fn(&mut Self, &str, &Map<String, Value>, usize) -> R,
    ) -> Vec<R> {
        let routes_path = at(path, "routes");
        let Some(list) = map.get("routes").and_then(Value::as_array).filter(|l| !l.is_empty()) else {
            self.fail(routes_path, "must be a list of at least one route");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, value) in list.iter().enumerate() {
            let route_path = format!("{routes_path}[{i}]");
            if let Some(map) = self.object(&route_path, value) {
                out.push(route(self, &route_path, map, depth));
            }
        }
        out
    }

    fn hours(&mut self, path: &str, value: Option<&Value>) -> BTreeMap<String, Vec<[String; 2]>> {
        let mut hours = BTreeMap::new();
        let Some(map) = value.and_then(Value::as_object) else {
            self.fail(path, "must map days (mon-sun) to opening ranges");
            return hours;
        };
        for (day, ranges) in map {
            let day_path = at(path, day);
            if !DAYS.contains(&day.as_str()) {
                self.fail(day_path.clone(), "days are mon, tue, wed, thu, fri, sat, sun");
            }
            let Some(list) = ranges.as_array() else {
                self.fail(day_path, "must be a list of [\"09:00\", \"17:00\"] ranges");
                continue;
            };
            let mut day_ranges = Vec::new();
            for (i, range) in list.iter().enumerate() {
                let pair: Option<Vec<&str>> =
                    range.as_array().map(|r| r.iter().filter_map(Value::as_str).collect());
                match pair.as_deref() {
                    Some([from, to])
                        if minute_of_day(from).zip(minute_of_day(to)).is_some_and(|(a, b)| a < b) =>
                    {
                        day_ranges.push([(*from).to_owned(), (*to).to_owned()]);
                    }
                    _ => self.fail(
                        format!("{day_path}[{i}]"),
                        "must be [\"HH:MM\", \"HH:MM\"] with the start first",
                    ),
                }
            }
            hours.insert(day.clone(), day_ranges);
        }
        hours
    }
}

fn is_menu_key(key: &str) -> bool {
    matches!(key.as_bytes(), [b'0'..=b'9'] | [b'*'] | [b'#'])
}

/// `"09:30"` → 570; `"24:00"` is the end of the day (1440).
pub fn minute_of_day(time: &str) -> Option<u32> {
    let (h, m) = time.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(1440),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

/// Every phone number a flow can dial, in order of appearance.
pub fn dialled_numbers(steps: &[Step]) -> Vec<&PhoneNumber> {
    let mut out = Vec::new();
    for step in steps {
        match step {
            Step::Forward { number, .. } => out.push(number),
            Step::MultiRing { numbers, .. } | Step::RoundRobin { numbers, .. } => out.extend(numbers),
            _ => {}
        }
        for branch in branches(step) {
            out.extend(dialled_numbers(branch));
        }
    }
    out
}

/// The nested step lists of a step.
pub fn branches(step: &Step) -> Vec<&[Step]> {
    match step {
        Step::Menu { options, default, .. } => {
            options.values().map(Vec::as_slice).chain(std::iter::once(default.as_slice())).collect()
        }
        Step::Schedule { open, closed, .. } => vec![open, closed],
        Step::GeoRoute { routes, default } => {
            routes.iter().map(|r| r.steps.as_slice()).chain(std::iter::once(default.as_slice())).collect()
        }
        Step::SourceRoute { routes, default } => {
            routes.iter().map(|r| r.steps.as_slice()).chain(std::iter::once(default.as_slice())).collect()
        }
        _ => Vec::new(),
    }
}

/// Whether any step (at any depth) is a round robin: those flows keep a rotation.
pub fn has_round_robin(steps: &[Step]) -> bool {
    steps.iter().any(|s| matches!(s, Step::RoundRobin { .. }) || branches(s).into_iter().any(has_round_robin))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn what_a_flow_says_is_gathered_from_every_branch_in_order() {
        let steps = parse_steps(&json!([
            {"type": "greeting", "message": "Thanks for calling Acme Plumbing"},
            {"type": "menu", "prompt": "Press 1 for repairs", "options": {
                "1": [{"type": "greeting", "message": "Connecting you to repairs"}]},
             "default": [{"type": "voicemail", "message": "Leave us a message"}]},
            {"type": "greeting", "audio_url": "https://acme.test/hold.mp3"},
        ]))
        .unwrap();
        assert_eq!(
            spoken(&steps),
            [
                "Thanks for calling Acme Plumbing",
                "Press 1 for repairs",
                "Connecting you to repairs",
                "Leave us a message"
            ]
        );
    }

    fn refused(steps: Value) -> Vec<(String, String)> {
        parse_steps(&steps).unwrap_err().into_vec().into_iter().map(|e| (e.field, e.message)).collect()
    }

    fn fields(steps: Value) -> Vec<String> {
        refused(steps).into_iter().map(|(f, _)| f).collect()
    }

    #[test]
    fn the_reference_flow_parses_with_defaults_filled_in() {
        let steps = parse_steps(&json!([
            {"type": "greeting", "message": "Thanks for calling"},
            {"type": "forward", "number": "(573) 555-4567"}
        ]))
        .unwrap();
        assert_eq!(
            serde_json::to_value(&steps).unwrap(),
            json!([
                {"type": "greeting", "message": "Thanks for calling"},
                {"type": "forward", "number": "+15735554567", "timeout_seconds": 30}
            ])
        );
        let back: Vec<Step> = serde_json::from_value(serde_json::to_value(&steps).unwrap()).unwrap();
        assert_eq!(back, steps);
    }

    #[test]
    fn every_step_type_parses() {
        let steps = parse_steps(&json!([
            {"type": "greeting", "audio_url": "https://example.com/hello.mp3"},
            {"type": "schedule", "timezone": "America/Chicago", "hours": {"mon": [["09:00", "17:00"]], "sat": [["10:00", "24:00"]]},
             "holidays": ["2026-12-25"], "open": [
                {"type": "menu", "prompt": "Press 1 for sales", "options": {"1": [{"type": "multi_ring", "numbers": ["3055551000", "3055551001"]}],
                 "#": [{"type": "round_robin", "numbers": ["+13055551002"]}]}, "default": [{"type": "hangup"}]}
             ], "closed": [{"type": "voicemail"}]},
            {"type": "geo_route", "routes": [{"states": ["fl"], "steps": [{"type": "forward", "number": "3055551003"}]}], "default": []},
            {"type": "source_route", "routes": [{"utm_source": "Google", "steps": []}]},
            {"type": "hangup"}
        ]))
        .unwrap();
        assert_eq!(steps.len(), 5);
        let dialled: Vec<&str> = dialled_numbers(&steps).iter().map(|n| n.as_str()).collect();
        // Menu options in key order: "#" sorts before "1".
        assert_eq!(dialled, ["+13055551002", "+13055551000", "+13055551001", "+13055551003"]);
        assert!(has_round_robin(&steps));
        match &steps[1] {
            Step::Schedule { open, closed, .. } => {
                assert!(
                    matches!(&closed[0], Step::Voicemail { message, max_length_seconds: 120, transcribe: true } if message == DEFAULT_VOICEMAIL_MESSAGE)
                );
                assert!(matches!(&open[0], Step::Menu { timeout_seconds: 5, retries: 2, .. }));
            }
            other => panic!("{other:?}"),
        }
        match &steps[2] {
            Step::GeoRoute { routes, .. } => assert_eq!(routes[0].states, ["FL"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refusals_name_the_exact_path() {
        assert_eq!(
            fields(json!([{"type": "greeting", "message": "hi"}, {"type": "forward", "number": "x"},
                {"type": "menu", "prompt": "p", "options": {"1": [{"type": "forward", "number": "123"}]}}])),
            ["steps[1].number", "steps[2].options.1[0].number"]
        );
        assert_eq!(fields(json!([])), ["steps"]);
        assert_eq!(fields(json!({"type": "hangup"})), ["steps"]);
        assert_eq!(fields(json!([{"type": "teleport"}])), ["steps[0].type"]);
        assert_eq!(fields(json!([{"message": "hi"}])), ["steps[0].type"]);
        assert_eq!(fields(json!([{"type": "hangup", "colour": "red"}])), ["steps[0].colour"]);
        assert_eq!(fields(json!([{"type": "greeting"}])), ["steps[0].message"]);
        assert_eq!(
            fields(json!([{"type": "forward", "number": "3055551000", "timeout_seconds": 0}])),
            ["steps[0].timeout_seconds"]
        );
        let eleven: Vec<String> = (0..11).map(|i| format!("30555510{i:02}")).collect();
        assert_eq!(fields(json!([{"type": "multi_ring", "numbers": eleven}])), ["steps[0].numbers"]);
        assert_eq!(
            fields(json!([{"type": "menu", "prompt": "p", "options": {"12": [], "a": []}}])),
            ["steps[0].options.12", "steps[0].options.a"]
        );
        assert_eq!(
            fields(
                json!([{"type": "schedule", "timezone": "Mars/Olympus", "hours": {"mon": [["17:00", "09:00"]], "funday": []},
                "holidays": ["2026-02-30"]}])
            ),
            ["steps[0].timezone", "steps[0].hours.funday", "steps[0].hours.mon[0]", "steps[0].holidays[0]"]
        );
        assert_eq!(
            fields(json!([{"type": "geo_route", "routes": [{"steps": []}]}])),
            ["steps[0].routes[0].states"]
        );
        assert_eq!(
            fields(json!([{"type": "geo_route", "routes": [{"zips": ["3310"], "steps": []}]}])),
            ["steps[0].routes[0].zips[0]", "steps[0].routes[0].states"]
        );
    }

    #[test]
    fn nesting_stops_at_five_levels() {
        let mut steps = json!([{"type": "hangup"}]);
        for _ in 0..4 {
            steps = json!([{"type": "menu", "prompt": "p", "options": {"1": steps}}]);
        }
        assert!(parse_steps(&steps).is_ok(), "five levels are allowed");
        let too_deep = json!([{"type": "menu", "prompt": "p", "options": {"1": steps}}]);
        assert_eq!(
            fields(too_deep),
            ["steps[0].options.1[0].options.1[0].options.1[0].options.1[0].options.1"]
        );
    }

    #[test]
    fn settings_default_and_refuse_unknown_fields() {
        assert_eq!(parse_settings(None).unwrap(), Settings::default());
        let s = parse_settings(Some(&json!({"recording": false, "whisper": true, "whisper_message": "Call from Google Ads", "press1": true}))).unwrap();
        assert!(!s.recording && s.whisper && s.press1);
        assert_eq!(s.whisper_message.as_deref(), Some("Call from Google Ads"));
        let err = parse_settings(Some(&json!({"record": true, "press1": "yes"}))).unwrap_err();
        let fields: Vec<String> = err.into_vec().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["settings.record", "settings.press1"]);
    }

    #[test]
    fn times_of_day() {
        assert_eq!(minute_of_day("09:30"), Some(570));
        assert_eq!(minute_of_day("24:00"), Some(1440));
        assert_eq!(minute_of_day("24:01"), None);
        assert_eq!(minute_of_day("9:30"), None);
    }
}
