//! Lead scoring: how likely a call is a customer, from what was said and what happened.
//!
//! The rule scorer is deterministic: a base, points for the call's facts (answered, how
//! long, a first-time caller, a paid click), and points for each family of words heard in
//! the transcript (asking a price, booking a time, a wrong number, a job seeker…). Every
//! point given is explained in `reasons`, with the words that triggered it, so a business
//! can see why a call scored as it did and tune its keywords. A business's settings
//! (`GET/PUT /api/v1/scoring`) override the keywords, the weights and the qualifying rule.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::validation::FieldErrors;

/// A family of words that says something about the caller's intent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    ServiceNeed,
    PriceQuestion,
    Scheduling,
    BookingConfirmed,
    ContactDetails,
    Spam,
    WrongNumber,
    JobSeeker,
    ExistingCustomerBilling,
}

impl Family {
    pub const ALL: [Family; 9] = [
        Family::ServiceNeed,
        Family::PriceQuestion,
        Family::Scheduling,
        Family::BookingConfirmed,
        Family::ContactDetails,
        Family::Spam,
        Family::WrongNumber,
        Family::JobSeeker,
        Family::ExistingCustomerBilling,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Family::ServiceNeed => "service_need",
            Family::PriceQuestion => "price_question",
            Family::Scheduling => "scheduling",
            Family::BookingConfirmed => "booking_confirmed",
            Family::ContactDetails => "contact_details",
            Family::Spam => "spam",
            Family::WrongNumber => "wrong_number",
            Family::JobSeeker => "job_seeker",
            Family::ExistingCustomerBilling => "existing_customer_billing",
        }
    }

    fn parse(raw: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.name() == raw)
    }

    fn default_weight(self) -> i32 {
        match self {
            Family::ServiceNeed => 15,
            Family::PriceQuestion => 10,
            Family::Scheduling => 15,
            Family::BookingConfirmed => 25,
            Family::ContactDetails => 10,
            Family::Spam => -45,
            Family::WrongNumber => -40,
            Family::JobSeeker => -35,
            Family::ExistingCustomerBilling => -20,
        }
    }

    fn default_keywords(self) -> &'static [&'static str] {
        match self {
            Family::ServiceNeed => &[
                "need",
                "repair",
                "fix",
                "broken",
                "leak",
                "leaking",
                "install",
                "replace",
                "emergency",
                "not working",
                "stopped working",
                "service",
                "help with",
                "looking for",
            ],
            Family::PriceQuestion => &[
                "how much", "price", "pricing", "cost", "charge", "rates", "quote", "estimate", "fee",
                "afford",
            ],
            Family::Scheduling => &[
                "appointment",
                "schedule",
                "available",
                "availability",
                "come out",
                "come by",
                "today",
                "tomorrow",
                "this week",
                "next week",
                "morning",
                "afternoon",
                "monday",
                "tuesday",
                "wednesday",
                "thursday",
                "friday",
                "saturday",
                "what time",
                "when can",
            ],
            Family::BookingConfirmed => &[
                "booked",
                "see you then",
                "you're all set",
                "you are all set",
                "confirmed",
                "scheduled you",
                "we'll see you",
                "put you down",
            ],
            Family::ContactDetails => &[
                "my number is",
                "my phone number",
                "my address",
                "my email",
                "call me back at",
                "reach me at",
            ],
            Family::Spam => &[
                "extended warranty",
                "google listing",
                "business listing",
                "seo",
                "press one",
                "not a sales call",
                "limited time offer",
                "congratulations you",
                "merchant services",
                "final notice",
            ],
            Family::WrongNumber => &[
                "wrong number",
                "didn't mean to call",
                "dialed the wrong",
                "dialled the wrong",
                "sorry wrong",
            ],
            Family::JobSeeker => &[
                "hiring",
                "job opening",
                "apply",
                "application",
                "position",
                "resume",
                "employment",
                "work for you",
            ],
            Family::ExistingCustomerBilling => &[
                "my bill",
                "invoice",
                "billing",
                "refund",
                "charged me",
                "already paid",
                "my account",
                "payment",
            ],
        }
    }
}

/// Which scorer a business uses. `llm` falls back to the rules on any error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    #[default]
    Rules,
    Llm,
}

/// A business's scoring settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoringSettings {
    pub engine: Engine,
    /// An answered call at least this long is qualified.
    pub min_duration_seconds: u32,
    /// A call scoring at least this is qualified.
    pub threshold: u8,
    pub keywords: BTreeMap<Family, Vec<String>>,
    pub weights: BTreeMap<Family, i32>,
}

impl Default for ScoringSettings {
    fn default() -> Self {
        ScoringSettings {
            engine: Engine::Rules,
            min_duration_seconds: 60,
            threshold: 60,
            keywords: Family::ALL
                .into_iter()
                .map(|f| (f, f.default_keywords().iter().map(|k| (*k).to_owned()).collect()))
                .collect(),
            weights: Family::ALL.into_iter().map(|f| (f, f.default_weight())).collect(),
        }
    }
}

const MAX_KEYWORDS: usize = 200;
const MAX_KEYWORD_LEN: usize = 60;

impl ScoringSettings {
    /// Applies a `PUT /scoring` body over these settings: fields left out keep their value;
    /// a family's keywords or weight replace that family's only.
    pub fn updated(&self, body: &Value) -> Result<ScoringSettings, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut next = self.clone();
        let Some(map) = body.as_object() else {
            errors.push("body", "must be a JSON object");
            return Err(errors);
        };
        for (key, value) in map {
            match key.as_str() {
                "engine" => match value.as_str() {
                    Some("rules") => next.engine = Engine::Rules,
                    Some("llm") => next.engine = Engine::Llm,
                    _ => errors.push("engine", "must be rules or llm"),
                },
                "min_duration_seconds" => match value.as_u64().filter(|s| *s <= 3600) {
                    Some(seconds) => next.min_duration_seconds = seconds as u32,
                    None => errors.push("min_duration_seconds", "must be a whole number from 0 to 3600"),
                },
                "threshold" => match value.as_u64().filter(|t| *t <= 100) {
                    Some(threshold) => next.threshold = threshold as u8,
                    None => errors.push("threshold", "must be a whole number from 0 to 100"),
                },
                "keywords" => {
                    for_each_family(&mut errors, "keywords", value, |errors, field, family, words| {
                        match parse_keywords(words) {
                            Ok(words) => {
                                next.keywords.insert(family, words);
                            }
                            Err(message) => errors.push(field, message),
                        }
                    });
                }
                "weights" => {
                    for_each_family(&mut errors, "weights", value, |errors, field, family, weight| {
                        match weight.as_i64().filter(|w| (-100..=100).contains(w)) {
                            Some(weight) => {
                                next.weights.insert(family, weight as i32);
                            }
                            None => errors.push(field, "must be a whole number from -100 to 100"),
                        }
                    });
                }
                other => errors.push(other, "is not a scoring setting"),
            }
        }
        errors.finish(next)
    }
}

fn for_each_family(
    errors: &mut FieldErrors,
    field: &str,
    value: &Value,
    mut apply: impl FnMut(&mut FieldErrors, String, Family, &Value),
) {
    let Some(map) = value.as_object() else {
        errors.push(field, "must be an object keyed by keyword family");
        return;
    };
    for (name, inner) in map {
        let path = format!("{field}.{name}");
        match Family::parse(name) {
            Some(family) => apply(errors, path, family, inner),
            None => errors.push(path, "is not a keyword family"),
        }
    }
}

fn parse_keywords(value: &Value) -> Result<Vec<String>, String> {
    let list = value.as_array().ok_or("must be a list of words or phrases")?;
    if list.len() > MAX_KEYWORDS {
        return Err(format!("may hold at most {MAX_KEYWORDS} keywords"));
    }
    list.iter()
        .map(|word| {
            let word = word.as_str().ok_or("must hold only strings")?;
            let normal = words(word).join(" ");
            if normal.is_empty() || word.chars().count() > MAX_KEYWORD_LEN {
                return Err(format!(
                    "keywords must have 1 to {MAX_KEYWORD_LEN} characters and a letter or digit"
                ));
            }
            Ok(normal)
        })
        .collect()
}

/// What is known about a call besides its words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallFacts {
    pub status: CallOutcome,
    pub duration_seconds: i64,
    pub first_time_caller: bool,
    /// The call came from a paid click (a gclid, or a cpc/ppc/paid medium).
    pub paid: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    Answered,
    Voicemail,
    Missed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    VeryGood,
    Good,
    Fair,
    Poor,
    VeryPoor,
}

impl Category {
    pub fn of(score: u8) -> Category {
        match score {
            80.. => Category::VeryGood,
            60..=79 => Category::Good,
            40..=59 => Category::Fair,
            20..=39 => Category::Poor,
            _ => Category::VeryPoor,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Category::VeryGood => "very_good",
            Category::Good => "good",
            Category::Fair => "fair",
            Category::Poor => "poor",
            Category::VeryPoor => "very_poor",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Score {
    pub score: u8,
    pub category: Category,
    pub reasons: Vec<String>,
}

/// A way of scoring a call. The rule scorer is the one the domain holds; an LLM scorer
/// (with I/O) lives at the edge and falls back to it.
pub trait Scorer {
    fn score(&self, facts: &CallFacts, transcript: Option<&str>, settings: &ScoringSettings) -> Score;
}

pub struct RuleScorer;

const BASE: i32 = 30;

impl Scorer for RuleScorer {
    fn score(&self, facts: &CallFacts, transcript: Option<&str>, settings: &ScoringSettings) -> Score {
        let mut total = 0;
        let mut reasons = Vec::new();
        // Every point is a reason, the base included, so the reasons add up to the score.
        let mut give = |points: i32, why: String| {
            total += points;
            reasons.push(format!("{why} {points:+}"));
        };
        give(BASE, "base".into());
        match facts.status {
            CallOutcome::Answered => give(10, "answered".into()),
            CallOutcome::Voicemail => give(5, "left a voicemail".into()),
            CallOutcome::Missed => give(-20, "missed".into()),
        }
        let seconds = facts.duration_seconds;
        if facts.status == CallOutcome::Answered {
            if seconds >= i64::from(settings.min_duration_seconds) {
                give(15, format!("talked {seconds} s"));
            }
            if seconds >= 180 {
                give(10, "a long conversation".into());
            }
            if seconds < 15 {
                give(-10, format!("hung up after {seconds} s"));
            }
        }
        if facts.first_time_caller {
            give(10, "first-time caller".into());
        }
        if facts.paid {
            give(5, "from a paid click".into());
        }
        if let Some(transcript) = transcript {
            let heard = words(transcript);
            for family in Family::ALL {
                let mut found: Vec<String> = settings
                    .keywords
                    .get(&family)
                    .into_iter()
                    .flatten()
                    .filter(|phrase| contains_phrase(&heard, phrase))
                    .cloned()
                    .collect();
                if family == Family::ContactDetails
                    && let Some(number) = spoken_phone_number(&heard)
                {
                    found.push(number);
                }
                if !found.is_empty() {
                    let weight = settings.weights.get(&family).copied().unwrap_or(family.default_weight());
                    let quoted: Vec<String> = found.iter().map(|w| format!("\"{w}\"")).collect();
                    give(weight, format!("{} ({})", family.name(), quoted.join(", ")));
                }
            }
        }
        let score = total.clamp(0, 100);
        if score != total {
            let limit = if total > 100 { "capped at 100" } else { "floored at 0" };
            reasons.push(format!("{limit} {:+}", score - total));
        }
        let score = score as u8;
        Score { score, category: Category::of(score), reasons }
    }
}

/// The automatic verdict: answered and long enough, or scored at least the threshold.
/// A person's verdict, when given, outranks it (the store keeps both).
pub fn qualifies(facts: &CallFacts, score: Option<u8>, settings: &ScoringSettings) -> bool {
    let long_answered = facts.status == CallOutcome::Answered
        && facts.duration_seconds >= i64::from(settings.min_duration_seconds);
    long_answered || score.is_some_and(|s| s >= settings.threshold)
}

/// Lower-case words of a text: letters, digits and apostrophes (so "you're" stays whole).
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .filter(|w| !w.is_empty())
        .map(|w| w.replace('’', "'").to_lowercase())
        .collect()
}

/// Whether the words hold `phrase` (already normalised) as consecutive whole words.
fn contains_phrase(heard: &[String], phrase: &str) -> bool {
    let wanted: Vec<&str> = phrase.split(' ').collect();
    heard.windows(wanted.len()).any(|window| window.iter().zip(&wanted).all(|(a, b)| a == b))
}

/// Seven or more digits said in a row (a phone number given), as the transcript wrote them.
fn spoken_phone_number(heard: &[String]) -> Option<String> {
    let mut run = String::new();
    for word in heard {
        if word.chars().all(|c| c.is_ascii_digit()) {
            run.push_str(word);
            if run.len() >= 7 {
                return Some(run);
            }
        } else {
            run.clear();
        }
    }
    None
}

/// The instructions for an LLM scorer: the facts and transcript in, one JSON object out.
pub fn llm_prompt(facts: &CallFacts, transcript: Option<&str>) -> String {
    format!(
        "You score phone calls to a local business as sales leads. Answer with one JSON object \
         {{\"score\": 0-100, \"reasons\": [short strings]}} and nothing else.\n\
         Call: {:?}, {} seconds, first-time caller: {}, from a paid ad: {}.\nTranscript:\n{}",
        facts.status,
        facts.duration_seconds,
        facts.first_time_caller,
        facts.paid,
        transcript.unwrap_or("(none)")
    )
}

/// Reads an LLM's answer; anything but a score from 0 to 100 is refused.
pub fn parse_llm_answer(answer: &str) -> Result<Score, String> {
    let start = answer.find('{').ok_or("no JSON object in the answer")?;
    let end = answer.rfind('}').ok_or("no JSON object in the answer")?;
    let value: Value = serde_json::from_str(&answer[start..=end]).map_err(|e| e.to_string())?;
    let score = value["score"].as_u64().filter(|s| *s <= 100).ok_or("score must be 0 to 100")? as u8;
    let reasons = value["reasons"]
        .as_array()
        .map(|list| list.iter().filter_map(Value::as_str).take(20).map(|r| format!("llm: {r}")).collect())
        .unwrap_or_default();
    Ok(Score { score, category: Category::of(score), reasons })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn answered(seconds: i64) -> CallFacts {
        CallFacts {
            status: CallOutcome::Answered,
            duration_seconds: seconds,
            first_time_caller: true,
            paid: false,
        }
    }

    fn score(facts: &CallFacts, transcript: &str) -> Score {
        RuleScorer.score(facts, Some(transcript), &ScoringSettings::default())
    }

    #[test]
    fn a_booked_service_call_scores_very_good_and_says_why() {
        let s = score(
            &answered(120),
            "Hi, my water heater is leaking. How much would it cost to fix? \
             Can you come out tomorrow morning? Great, you're all set, see you then.",
        );
        assert_eq!(s.score, 100);
        assert_eq!(s.category, Category::VeryGood);
        let reasons = s.reasons.join(" | ");
        for expected in [
            "service_need (\"fix\", \"leaking\") +15",
            "price_question (\"how much\", \"cost\") +10",
            "booking_confirmed (\"see you then\", \"you're all set\") +25",
            "talked 120 s +15",
        ] {
            assert!(reasons.contains(expected), "{expected} missing from {reasons}");
        }
    }

    /// The points in the reasons, summed.
    fn points(reasons: &[String]) -> i32 {
        reasons.iter().map(|r| r.rsplit(' ').next().unwrap().parse::<i32>().unwrap()).sum()
    }

    #[test]
    fn the_reasons_add_up_to_the_score_base_and_limits_included() {
        let settings = ScoringSettings::default();
        for (facts, transcript) in [
            (answered(120), Some("my sink is leaking, how much, can you come tomorrow, see you then")),
            (answered(40), Some("oh sorry, wrong number")),
            (answered(8), Some("not a sales call, about your google listing, wrong number, are you hiring")),
            (
                CallFacts {
                    status: CallOutcome::Missed,
                    duration_seconds: 0,
                    first_time_caller: false,
                    paid: false,
                },
                None,
            ),
            (answered(60), None),
        ] {
            let s = RuleScorer.score(&facts, transcript, &settings);
            assert_eq!(points(&s.reasons), i32::from(s.score), "{s:?}");
            assert_eq!(s.reasons[0], "base +30");
        }
    }

    #[test]
    fn spam_wrong_numbers_and_job_seekers_score_poorly() {
        let spam = score(&answered(40), "This is not a sales call, it's about your Google listing.");
        assert_eq!(spam.category, Category::VeryPoor, "{spam:?}");
        let wrong = score(&answered(8), "Oh sorry, wrong number.");
        assert_eq!(wrong.score, 0, "{wrong:?}");
        let job = score(&answered(50), "Are you hiring? I'd like to apply for a position.");
        assert!(job.score < 40, "{job:?}");
    }

    #[test]
    fn facts_alone_score_a_call_without_a_transcript() {
        let settings = ScoringSettings::default();
        let missed = CallFacts {
            status: CallOutcome::Missed,
            duration_seconds: 0,
            first_time_caller: false,
            paid: true,
        };
        let s = RuleScorer.score(&missed, None, &settings);
        assert_eq!(s.score, 15);
        assert_eq!(s.reasons, ["base +30", "missed -20", "from a paid click +5"]);
        assert_eq!(RuleScorer.score(&answered(61), None, &settings).score, 65);
    }

    #[test]
    fn phrases_match_whole_words_only() {
        assert!(
            score(&answered(20), "I need a plumber").reasons.iter().any(|r| r.starts_with("service_need"))
        );
        // "needle" is not "need", "priceless" is not "price".
        let s = score(&answered(20), "a needle, priceless");
        assert!(!s.reasons.iter().any(|r| r.starts_with("service_need") || r.starts_with("price")), "{s:?}");
    }

    #[test]
    fn a_phone_number_said_counts_as_contact_details() {
        let s = score(&answered(30), "you can call me at 573 555 1234 anytime");
        assert!(s.reasons.iter().any(|r| r == "contact_details (\"5735551234\") +10"), "{:?}", s.reasons);
    }

    #[test]
    fn qualifying_takes_a_long_answered_call_or_a_high_score() {
        let settings = ScoringSettings::default();
        assert!(qualifies(&answered(60), None, &settings));
        assert!(!qualifies(&answered(59), Some(59), &settings));
        assert!(qualifies(&answered(10), Some(60), &settings));
        let voicemail = CallFacts { status: CallOutcome::Voicemail, ..answered(300) };
        assert!(!qualifies(&voicemail, Some(10), &settings));
    }

    #[test]
    fn settings_updates_replace_named_parts_and_name_bad_fields() {
        let base = ScoringSettings::default();
        let next = base
            .updated(&json!({"threshold": 70, "keywords": {"spam": ["Solar Panels"]}, "weights": {"scheduling": 30}}))
            .unwrap();
        assert_eq!(next.threshold, 70);
        assert_eq!(next.keywords[&Family::Spam], ["solar panels"]);
        assert_eq!(next.keywords[&Family::Scheduling], base.keywords[&Family::Scheduling]);
        assert_eq!(next.weights[&Family::Scheduling], 30);
        let errors = base
            .updated(
                &json!({"threshold": 101, "keywords": {"aliens": []}, "weights": {"spam": "x"}, "colour": 1}),
            )
            .unwrap_err()
            .into_vec();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["colour", "keywords.aliens", "threshold", "weights.spam"]);
    }

    #[test]
    fn custom_keywords_change_the_score() {
        let settings =
            ScoringSettings::default().updated(&json!({"keywords": {"spam": ["solar panels"]}})).unwrap();
        let s = RuleScorer.score(&answered(30), Some("I'm calling about solar panels"), &settings);
        assert!(s.reasons.iter().any(|r| r.starts_with("spam (\"solar panels\")")), "{s:?}");
    }

    #[test]
    fn llm_answers_are_read_strictly() {
        let s = parse_llm_answer("Sure! {\"score\": 72, \"reasons\": [\"asked for a quote\"]}").unwrap();
        assert_eq!((s.score, s.category), (72, Category::Good));
        assert_eq!(s.reasons, ["llm: asked for a quote"]);
        assert!(parse_llm_answer("{\"score\": 140}").is_err());
        assert!(parse_llm_answer("I cannot help").is_err());
    }
}
