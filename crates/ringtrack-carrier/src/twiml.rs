//! TwiML: rendering the engine's instructions as the XML Twilio executes, with the verbs
//! and attributes Twilio documents, and parsing TwiML back (the sandbox carrier executes
//! what this server answers, as Twilio would).

use std::fmt::Write;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use ringtrack_domain::engine::Instruction;

/// Where the carrier reports what happened, one URL per kind of callback. Each already
/// names the call and the engine's step, so a repeated callback is recognised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Callbacks {
    pub gather: String,
    pub dial: String,
    pub record: String,
    /// Runs on the agent's leg when they answer: the whisper and the press-1 question.
    pub whisper: String,
    pub recording_status: String,
    /// The number agents see as calling: the caller's.
    pub caller_id: String,
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

fn document(body: &str) -> String {
    if body.is_empty() { format!("{HEAD}<Response/>") } else { format!("{HEAD}<Response>{body}</Response>") }
}

fn say(out: &mut String, text: &str) {
    let _ = write!(out, "<Say>{}</Say>", escape(text));
}

/// The TwiML for the engine's answer.
pub fn render(instructions: &[Instruction], callbacks: &Callbacks) -> String {
    let mut out = String::new();
    for instruction in instructions {
        match instruction {
            Instruction::Say { text } => say(&mut out, text),
            Instruction::Play { url } => {
                let _ = write!(out, "<Play>{}</Play>", escape(url));
            }
            Instruction::Gather { prompt, timeout_seconds } => {
                let _ = write!(
                    out,
                    "<Gather input=\"dtmf\" numDigits=\"1\" timeout=\"{timeout_seconds}\" action=\"{}\" method=\"POST\" \
                     actionOnEmptyResult=\"true\">",
                    escape(&callbacks.gather)
                );
                say(&mut out, prompt);
                out.push_str("</Gather>");
            }
            Instruction::Dial { numbers, timeout_seconds, record, .. } => {
                let _ = write!(
                    out,
                    "<Dial action=\"{}\" method=\"POST\" timeout=\"{timeout_seconds}\" callerId=\"{}\"",
                    escape(&callbacks.dial),
                    escape(&callbacks.caller_id)
                );
                if *record {
                    let _ = write!(
                        out,
                        " record=\"record-from-answer-dual\" recordingStatusCallback=\"{}\" \
                         recordingStatusCallbackMethod=\"POST\" recordingStatusCallbackEvent=\"completed\"",
                        escape(&callbacks.recording_status)
                    );
                }
                out.push('>');
                for number in numbers {
                    let _ = write!(
                        out,
                        "<Number url=\"{}\" method=\"POST\">{}</Number>",
                        escape(&callbacks.whisper),
                        escape(number.as_str())
                    );
                }
                out.push_str("</Dial>");
            }
            Instruction::Record { max_length_seconds, transcribe } => {
                // The flow's choice travels with the recording's callbacks.
                let flag = if *transcribe { "" } else { "&transcribe=false" };
                let _ = write!(
                    out,
                    "<Record action=\"{}\" method=\"POST\" maxLength=\"{max_length_seconds}\" playBeep=\"true\" \
                     recordingStatusCallback=\"{}\" recordingStatusCallbackMethod=\"POST\"/>",
                    escape(&format!("{}{flag}", callbacks.record)),
                    escape(&format!("{}{flag}", callbacks.recording_status))
                );
            }
            Instruction::Hangup => out.push_str("<Hangup/>"),
        }
    }
    document(&out)
}

/// A polite refusal: the message, then hang up.
pub fn say_and_hang_up(message: &str) -> String {
    let mut out = String::new();
    say(&mut out, message);
    out.push_str("<Hangup/>");
    document(&out)
}

/// Nothing more to do: on an agent's leg, this connects the call.
pub fn empty() -> String {
    document("")
}

pub fn hang_up() -> String {
    document("<Hangup/>")
}

/// The answer to an inbound text that sends one back (a compliance reply).
pub fn reply(text: &str) -> String {
    document(&format!("<Message>{}</Message>", escape(text)))
}

/// What an agent hears on answering. With press-1, the agent must press 1 (the answer goes
/// to `press1_action`); silence or any other key hangs up the agent's leg.
pub fn whisper(message: Option<&str>, press1_action: Option<&str>) -> String {
    let mut out = String::new();
    match press1_action {
        Some(action) => {
            let _ = write!(
                out,
                "<Gather input=\"dtmf\" numDigits=\"1\" timeout=\"10\" action=\"{}\" method=\"POST\" \
                 actionOnEmptyResult=\"true\">",
                escape(action)
            );
            let prompt = match message {
                Some(m) => format!("{m}. Press 1 to accept the call."),
                None => "Press 1 to accept the call.".to_owned(),
            };
            say(&mut out, &prompt);
            out.push_str("</Gather><Hangup/>");
        }
        None => {
            if let Some(message) = message {
                say(&mut out, message);
            }
        }
    }
    document(&out)
}

/// A TwiML verb as the sandbox executes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verb {
    Say(String),
    Play(String),
    Pause,
    Gather {
        action: Option<String>,
        timeout: u32,
        children: Vec<Verb>,
    },
    Dial {
        action: Option<String>,
        timeout: u32,
        record: bool,
        recording_status_callback: Option<String>,
        numbers: Vec<DialNumber>,
    },
    Record {
        action: Option<String>,
        max_length: u32,
        recording_status_callback: Option<String>,
    },
    Hangup,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialNumber {
    pub number: String,
    pub url: Option<String>,
}

/// An XML element: its name, attributes and children (text kept as `#text` elements).
#[derive(Debug)]
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<Element>,
    text: String,
}

impl Element {
    fn attribute(&self, name: &str) -> Option<String> {
        self.attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn number(&self, name: &str, default: u32) -> u32 {
        self.attribute(name).and_then(|v| v.parse().ok()).unwrap_or(default)
    }
}

fn element(start: &BytesStart<'_>) -> Result<Element, String> {
    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| e.to_string())?;
        let key = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
        let value = attribute.unescape_value().map_err(|e| e.to_string())?.into_owned();
        attributes.push((key, value));
    }
    Ok(Element { name, attributes, children: Vec::new(), text: String::new() })
}

/// Parses a TwiML document into its verbs.
pub fn parse(xml: &str) -> Result<Vec<Verb>, String> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(start) => stack.push(element(&start)?),
            Event::Empty(start) => {
                let done = element(&start)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(text) => {
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&text.unescape().map_err(|e| e.to_string())?);
                }
            }
            Event::End(_) => {
                let done = stack.pop().ok_or("unbalanced TwiML")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let root = root.ok_or("no <Response>")?;
    if root.name != "Response" {
        return Err(format!("the document is <{}>, not <Response>", root.name));
    }
    root.children.iter().map(verb).collect()
}

fn verb(e: &Element) -> Result<Verb, String> {
    Ok(match e.name.as_str() {
        "Say" => Verb::Say(e.text.clone()),
        "Play" => Verb::Play(e.text.clone()),
        "Pause" => Verb::Pause,
        "Hangup" => Verb::Hangup,
        "Gather" => Verb::Gather {
            action: e.attribute("action"),
            timeout: e.number("timeout", 5),
            children: e.children.iter().map(verb).collect::<Result<_, _>>()?,
        },
        "Dial" => Verb::Dial {
            action: e.attribute("action"),
            timeout: e.number("timeout", 30),
            record: e.attribute("record").is_some_and(|r| r.starts_with("record-from")),
            recording_status_callback: e.attribute("recordingStatusCallback"),
            numbers: if e.children.is_empty() {
                vec![DialNumber { number: e.text.clone(), url: None }]
            } else {
                e.children
                    .iter()
                    .filter(|c| c.name == "Number")
                    .map(|c| DialNumber { number: c.text.clone(), url: c.attribute("url") })
                    .collect()
            },
        },
        "Record" => Verb::Record {
            action: e.attribute("action"),
            max_length: e.number("maxLength", 3600),
            recording_status_callback: e.attribute("recordingStatusCallback"),
        },
        other => return Err(format!("the sandbox does not execute <{other}>")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringtrack_domain::PhoneNumber;

    fn callbacks() -> Callbacks {
        Callbacks {
            gather: "https://x.test/g?call=1&seq=1".into(),
            dial: "https://x.test/d?call=1&seq=1".into(),
            record: "https://x.test/r?call=1&seq=1".into(),
            whisper: "https://x.test/w?call=1&seq=1".into(),
            recording_status: "https://x.test/rs?call=1".into(),
            caller_id: "+13055551234".into(),
        }
    }

    #[test]
    fn rendered_twiml_parses_back_to_the_same_verbs() {
        let instructions = vec![
            Instruction::Say { text: "Thanks for calling Smith & Sons <plumbing>".into() },
            Instruction::Gather { prompt: "Press 1".into(), timeout_seconds: 5 },
        ];
        let xml = render(&instructions, &callbacks());
        assert!(xml.contains("Smith &amp; Sons &lt;plumbing&gt;"));
        assert!(xml.contains("action=\"https://x.test/g?call=1&amp;seq=1\""));
        assert_eq!(
            parse(&xml).unwrap(),
            [
                Verb::Say("Thanks for calling Smith & Sons <plumbing>".into()),
                Verb::Gather {
                    action: Some("https://x.test/g?call=1&seq=1".into()),
                    timeout: 5,
                    children: vec![Verb::Say("Press 1".into())]
                }
            ]
        );
        let dial = render(
            &[Instruction::Dial {
                numbers: vec![
                    PhoneNumber::parse("3055551001").unwrap(),
                    PhoneNumber::parse("3055551002").unwrap(),
                ],
                timeout_seconds: 20,
                record: true,
                whisper: None,
                press1: false,
            }],
            &callbacks(),
        );
        match &parse(&dial).unwrap()[0] {
            Verb::Dial { timeout: 20, record: true, numbers, recording_status_callback: Some(_), .. } => {
                assert_eq!(numbers.len(), 2);
                assert_eq!(numbers[1].number, "+13055551002");
                assert_eq!(numbers[1].url.as_deref(), Some("https://x.test/w?call=1&seq=1"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_voicemail_not_to_transcribe_says_so_on_its_callbacks() {
        let record =
            |transcribe| render(&[Instruction::Record { max_length_seconds: 60, transcribe }], &callbacks());
        let expected = |flag: &str| Verb::Record {
            action: Some(format!("https://x.test/r?call=1&seq=1{flag}")),
            max_length: 60,
            recording_status_callback: Some(format!("https://x.test/rs?call=1{flag}")),
        };
        assert_eq!(parse(&record(true)).unwrap(), [expected("")]);
        assert_eq!(parse(&record(false)).unwrap(), [expected("&transcribe=false")]);
    }

    #[test]
    fn small_documents() {
        assert_eq!(parse(&empty()).unwrap(), []);
        assert_eq!(parse(&hang_up()).unwrap(), [Verb::Hangup]);
        assert_eq!(
            parse(&say_and_hang_up("Not in service")).unwrap(),
            [Verb::Say("Not in service".into()), Verb::Hangup]
        );
        let press1 = parse(&whisper(Some("Call from Google Ads"), Some("https://x.test/a"))).unwrap();
        assert!(
            matches!(&press1[0], Verb::Gather { children, .. } if children == &[Verb::Say("Call from Google Ads. Press 1 to accept the call.".into())])
        );
        assert_eq!(press1[1], Verb::Hangup);
        assert!(parse("<Nope/>").is_err());
    }
}
