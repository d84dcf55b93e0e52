//! The TwiML reader over generated documents: it never panics on anything a peer could
//! send, and what the server renders it reads back to the same words.

use proptest::prelude::*;
use ringtrack_carrier::twiml::{self, Callbacks, Verb};
use ringtrack_domain::engine::Instruction;

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

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn reading_never_panics(document in "\\PC{0,200}") {
        let _ = twiml::parse(&document);
    }

    #[test]
    fn reading_xml_like_input_never_panics(body in "(<(Say|Gather|Dial|Number|Record|Hangup|Response)( [a-z]{1,8}=\"[^\"<]{0,10}\")?/?>|</(Say|Gather|Dial|Response)>|[a-z &;<>]{0,5}){0,12}") {
        let _ = twiml::parse(&format!("<?xml version=\"1.0\"?><Response>{body}</Response>"));
    }

    #[test]
    fn spoken_text_survives_rendering_and_reading(text in "[^\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F]{1,120}") {
        let xml = twiml::render(&[Instruction::Say { text: text.clone() }], &callbacks());
        let verbs = twiml::parse(&xml).unwrap();
        // XML's whitespace at the ends is not text (a no-break space is).
        let expected = text.trim_matches([' ', '\t', '\r', '\n']);
        if !expected.is_empty() {
            prop_assert_eq!(verbs, vec![Verb::Say(expected.to_owned())]);
        }
    }
}
