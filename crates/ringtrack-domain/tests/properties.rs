//! Properties of the parsers that face the outside, over generated input: the E.164 parser
//! and the call-flow validator never panic, and what they accept is canonical.

use proptest::prelude::*;
use std::collections::BTreeMap;

use ringtrack_domain::PhoneNumber;
use ringtrack_domain::dni::{Attribution, form_contact, keep_field};
use ringtrack_domain::flow::{parse_settings, parse_steps};
use serde_json::Value;

/// Any JSON value, nested a few levels, with the keys and types flows use most likely.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,30}".prop_map(Value::String),
        prop_oneof![
            Just("greeting"),
            Just("menu"),
            Just("forward"),
            Just("voicemail"),
            Just("schedule"),
            Just("round_robin"),
            Just("hangup"),
            Just("source_route"),
            Just("geo_route"),
        ]
        .prop_map(|s| Value::String(s.into())),
        "\\+?1?[0-9 ()-]{0,14}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        let key = prop_oneof![
            Just("type".to_owned()),
            Just("message".to_owned()),
            Just("number".to_owned()),
            Just("numbers".to_owned()),
            Just("steps".to_owned()),
            Just("options".to_owned()),
            Just("timeout_seconds".to_owned()),
            Just("routes".to_owned()),
            "[a-z_]{1,12}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn phone_parsing_never_panics_and_is_canonical(raw in "\\PC{0,40}") {
        if let Ok(number) = PhoneNumber::parse(&raw) {
            let e164 = number.to_string();
            prop_assert!(e164.starts_with('+'));
            let digits = e164.len() - 1;
            prop_assert!((8..=15).contains(&digits), "{e164}");
            prop_assert!(e164[1..].bytes().all(|b| b.is_ascii_digit()));
            prop_assert_eq!(PhoneNumber::parse(&e164).unwrap(), number, "parsing is idempotent");
        }
    }

    #[test]
    fn us_numbers_in_any_common_format_parse_to_one_number(area in "[2-9][0-8][0-9]", exchange in "[2-9][0-9]{2}", line in "[0-9]{4}") {
        let written = [
            format!("({area}) {exchange}-{line}"),
            format!("{area}-{exchange}-{line}"),
            format!("{area}.{exchange}.{line}"),
            format!("+1 {area} {exchange} {line}"),
            format!("{area}{exchange}{line}"),
        ];
        let parsed: Vec<Option<String>> = written.iter().map(|w| PhoneNumber::parse(w).ok().map(|n| n.to_string())).collect();
        // Every way of writing one number means the same (valid or not, all alike).
        prop_assert!(parsed.iter().all(|p| *p == parsed[0]), "{written:?} -> {parsed:?}");
        if let Some(e164) = &parsed[0] {
            prop_assert_eq!(e164, &format!("+1{area}{exchange}{line}"));
        }
    }

    #[test]
    fn the_flow_validator_never_panics_and_names_what_it_refuses(steps in json(), settings in json()) {
        if let Err(errors) = parse_steps(&steps) {
            prop_assert!(errors.into_vec().iter().all(|e| !e.field.is_empty() && !e.message.is_empty()));
        }
        if let Err(errors) = parse_settings(Some(&settings)) {
            prop_assert!(errors.into_vec().iter().all(|e| !e.field.is_empty() && !e.message.is_empty()));
        }
    }

    #[test]
    fn landing_pages_never_panic_and_keep_values_bounded(url in "(https?://[a-z.]{1,12}/)?\\??((utm_[a-z]{1,8}|gclid|fbclid|[a-z%0-9]{1,6})=[^&#]{0,300}&?){0,8}(#.*)?") {
        let a = Attribution::from_url(&url);
        for value in [&a.utm_source, &a.utm_medium, &a.utm_campaign, &a.utm_term, &a.utm_content, &a.gclid, &a.fbclid, &a.msclkid]
            .into_iter()
            .flatten()
        {
            prop_assert!(!value.is_empty() && value.chars().count() <= 200);
        }
    }

    #[test]
    fn form_contacts_never_panic_and_pick_well_formed_values(fields in prop::collection::btree_map("[a-zA-Z_-]{1,12}", "\\PC{0,40}", 0..12)) {
        let fields: BTreeMap<String, String> = fields;
        let contact = form_contact(&fields);
        if let Some(phone) = &contact.phone {
            prop_assert!(PhoneNumber::parse(phone).is_ok());
        }
        if let Some(email) = &contact.email {
            prop_assert!(email.contains('@'));
        }
        for (name, value) in &fields {
            if let Some(kept) = keep_field(name, value) {
                // Redaction only ever replaces digits: the words stay.
                let letters = |s: &str| s.chars().filter(|c| c.is_alphabetic()).count();
                prop_assert!(letters(&kept) >= letters(value));
            }
        }
    }
}
