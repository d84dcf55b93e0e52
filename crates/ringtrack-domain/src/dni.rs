//! Dynamic number insertion: what a visit's landing page says about where it came from,
//! which visitors get a pool number, what a captured form holds, and how big a pool should
//! be. Pure rules; the leasing itself is the store's (it needs the database's locks).

use std::collections::BTreeMap;

use crate::phone::PhoneNumber;

/// Where a visit came from, as its landing page's query string says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attribution {
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_term: Option<String>,
    pub utm_content: Option<String>,
    pub gclid: Option<String>,
    pub fbclid: Option<String>,
    pub msclkid: Option<String>,
}

/// The longest attribution value kept; longer ones are cut (they are free text from URLs).
const MAX_VALUE: usize = 200;

impl Attribution {
    /// Reads `utm_*` and click ids from a URL's query (the first of each wins).
    pub fn from_url(url: &str) -> Attribution {
        let query = url.split_once('?').map_or("", |(_, q)| q);
        let query = query.split_once('#').map_or(query, |(q, _)| q);
        let mut a = Attribution::default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let value: String = value.trim().chars().take(MAX_VALUE).collect();
            if value.is_empty() {
                continue;
            }
            let slot = match key.as_ref() {
                "utm_source" => &mut a.utm_source,
                "utm_medium" => &mut a.utm_medium,
                "utm_campaign" => &mut a.utm_campaign,
                "utm_term" => &mut a.utm_term,
                "utm_content" => &mut a.utm_content,
                "gclid" => &mut a.gclid,
                "fbclid" => &mut a.fbclid,
                "msclkid" => &mut a.msclkid,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        a
    }

    /// A paid click: an ad platform's click id, or a paid `utm_medium`.
    pub fn is_paid(&self) -> bool {
        is_paid([&self.gclid, &self.fbclid, &self.msclkid], self.utm_medium.as_deref())
    }
}

/// The most characters a page's address keeps.
pub const MAX_PAGE_ADDRESS: usize = 500;

/// A page's address as reports name it: its URL without the query (each visitor's own utm
/// and click ids) or the fragment.
pub fn page_address(url: &str) -> &str {
    &url[..url.find(['?', '#']).unwrap_or(url.len())]
}

/// Whether click ids or a medium say a visit (or call) came from a paid ad.
pub fn is_paid<'a>(
    click_ids: impl IntoIterator<Item = &'a Option<String>>,
    utm_medium: Option<&str>,
) -> bool {
    click_ids.into_iter().any(|id| id.as_deref().is_some_and(|id| !id.is_empty()))
        || utm_medium.is_some_and(|m| ["cpc", "ppc", "paid"].contains(&m.to_ascii_lowercase().as_str()))
}

/// Which visitors a pool gives a number to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VisitorFilter {
    All,
    /// Only paid clicks; everyone else keeps the target number.
    Paid,
}

impl VisitorFilter {
    pub fn parse(raw: &str) -> Option<VisitorFilter> {
        match raw {
            "all" => Some(VisitorFilter::All),
            "paid" => Some(VisitorFilter::Paid),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            VisitorFilter::All => "all",
            VisitorFilter::Paid => "paid",
        }
    }

    pub fn admits(self, visit: &Attribution) -> bool {
        self == VisitorFilter::All || visit.is_paid()
    }
}

pub const DEFAULT_SESSION_TIMEOUT_SECONDS: i64 = 1800;
pub const SESSION_TIMEOUT_RANGE: std::ops::RangeInclusive<i64> = 60..=86_400;

/// How many numbers a pool needs for its peak of concurrent visits: a fifth more for
/// headroom, and never fewer than two.
pub fn recommended_pool_size(peak_concurrent_sessions: i64) -> i64 {
    ((peak_concurrent_sessions.max(0) * 6 + 4) / 5).max(2)
}

/// The tag a site owner pastes before `</body>` to run the tracking script for a pool.
pub fn script_tag(public_url: &str, pool: crate::NumberPoolId) -> String {
    format!(
        "<script src=\"{}/dni.js\" data-pool=\"{pool}\" async></script>",
        public_url.trim_end_matches('/')
    )
}

/// The `amp-call-tracking` element an AMP page uses instead of the script, around the
/// link it rewrites (`target` is the number the page shows).
pub fn amp_tag(public_url: &str, pool: crate::NumberPoolId, target: &crate::PhoneNumber) -> String {
    format!(
        "<amp-call-tracking config=\"{}/dni/v1/amp/{pool}?client_id=CLIENT_ID(ringtrack)&page=SOURCE_URL&referrer=DOCUMENT_REFERRER\">\n  <a href=\"tel:{}\">{}</a>\n</amp-call-tracking>",
        public_url.trim_end_matches('/'),
        target.as_str(),
        target.national_format()
    )
}

/// What a captured form holds, with the fields people most want picked out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormContact {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// Names of fields that are never kept, as whole words of the name (`user_pin`, `otpCode`).
const SECRET_WORDS: [&str; 16] = [
    "pin", "pwd", "pw", "ssn", "sin", "cvv", "cvv2", "cvc", "cvc2", "csc", "otp", "totp", "mfa", "2fa",
    "iban", "aba",
];
/// ... and anywhere in the name once its separators are gone (`cc.num`, `api-token`).
const SECRET_PARTS: [&str; 19] = [
    "pass",
    "secret",
    "token",
    "apikey",
    "card",
    "ccnum",
    "ccno",
    "ccexp",
    "securitycode",
    "verificationcode",
    "authcode",
    "accountnumber",
    "accountno",
    "acctnum",
    "acctno",
    "routingnumber",
    "routingno",
    "sortcode",
    "socialsecurity",
];

/// Whether a form field must never be kept, by its name: passwords, PINs, one-time codes,
/// tokens, card, bank-account and social-security numbers, however the name is written.
pub fn is_secret_field(name: &str) -> bool {
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            words.extend((!word.is_empty()).then(|| std::mem::take(&mut word)));
            previous_lower = false;
            continue;
        }
        // camelCase starts a word.
        if c.is_uppercase() && previous_lower {
            words.push(std::mem::take(&mut word));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    words.extend((!word.is_empty()).then_some(word));
    let joined: String = words.concat();
    words.iter().any(|w| SECRET_WORDS.contains(&w.as_str()))
        || SECRET_PARTS.iter().any(|p| joined.contains(p))
}

const REDACTED: &str = "[redacted]";

/// `value` with every card number (13 to 19 digits passing Luhn's check, in groups split
/// by spaces, dashes, dots or slashes) and every US social-security number (3-2-4 digits)
/// inside it replaced by `[redacted]`: a message that says "my card is 4111 1111 1111
/// 1111" keeps its words and loses the number.
pub fn redact_numbers(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let mut out = String::with_capacity(value.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() || (i > 0 && chars[i - 1].is_ascii_digit()) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // A run: digits, with single separators between them.
        let (mut end, mut groups, mut group) = (i, Vec::new(), 0usize);
        let mut j = i;
        while j < chars.len() {
            if chars[j].is_ascii_digit() {
                group += 1;
                end = j + 1;
                j += 1;
            } else if is_separator(chars[j])
                && chars.get(j + 1).is_some_and(char::is_ascii_digit)
                && group > 0
            {
                groups.push(group);
                group = 0;
                j += 1;
            } else {
                break;
            }
        }
        groups.push(group);
        let run: String = chars[i..end].iter().collect();
        if is_card(&run) || is_ssn(&groups, &run) {
            out.push_str(REDACTED);
        } else {
            out.push_str(&run);
        }
        i = end;
    }
    out
}

fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '.' | '/' | '\u{a0}' | '\u{2009}' | '\u{2011}' | '\u{2013}')
}

fn is_ssn(groups: &[usize], run: &str) -> bool {
    groups == [3, 2, 4] && run.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
}

fn is_card(run: &str) -> bool {
    let digits: Vec<u32> = run.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) || digits.iter().all(|d| *d == digits[0]) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { *d })
        .sum();
    sum.is_multiple_of(10)
}

/// A submitted field as kept: `None` when its name says it is a secret, else its value
/// with card and social-security numbers redacted.
pub fn keep_field(name: &str, value: &str) -> Option<String> {
    (!is_secret_field(name)).then(|| redact_numbers(value))
}

/// Picks the name, email and phone out of a form's fields, by their names first and, for
/// email and phone, by what the values look like.
pub fn form_contact(fields: &BTreeMap<String, String>) -> FormContact {
    let named = |words: &[&str]| {
        fields.iter().find(|(k, v)| {
            let k = k.to_ascii_lowercase();
            !v.trim().is_empty() && words.iter().any(|w| k.contains(w))
        })
    };
    let email = named(&["email", "e-mail"])
        .map(|(_, v)| v.trim().to_owned())
        .or_else(|| fields.values().find(|v| is_email(v)).map(|v| v.trim().to_owned()));
    let phone = named(&["phone", "tel", "mobile", "cell"])
        .and_then(|(_, v)| PhoneNumber::parse(v).ok())
        .or_else(|| fields.values().find_map(|v| PhoneNumber::parse(v).ok()))
        .map(|p| p.to_string());
    let full = named(&["full_name", "fullname", "your-name", "your_name"])
        .or_else(|| fields.iter().find(|(k, v)| k.eq_ignore_ascii_case("name") && !v.trim().is_empty()));
    let name = match full {
        Some((_, v)) => Some(v.trim().to_owned()),
        None => {
            let first = named(&["first"]).map(|(_, v)| v.trim());
            let last = named(&["last", "surname"]).map(|(_, v)| v.trim());
            match (first, last) {
                (Some(f), Some(l)) => Some(format!("{f} {l}")),
                (Some(one), None) | (None, Some(one)) => Some(one.to_owned()),
                (None, None) => None,
            }
        }
    };
    FormContact { name, email, phone }
}

fn is_email(value: &str) -> bool {
    let value = value.trim();
    match value.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !value.contains(char::is_whitespace)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tags_to_paste_name_the_pool_and_the_server() {
        let pool: crate::NumberPoolId = "01a2442f-f349-72f6-809c-d3ae7600f393".parse().unwrap();
        assert_eq!(
            script_tag("https://calls.acme.test/", pool),
            "<script src=\"https://calls.acme.test/dni.js\" data-pool=\"01a2442f-f349-72f6-809c-d3ae7600f393\" async></script>"
        );
        let amp =
            amp_tag("https://calls.acme.test", pool, &crate::PhoneNumber::parse("(573) 555-0100").unwrap());
        assert!(amp.starts_with("<amp-call-tracking config=\"https://calls.acme.test/dni/v1/amp/01a2442f-f349-72f6-809c-d3ae7600f393?client_id=CLIENT_ID(ringtrack)&"), "{amp}");
        assert!(amp.contains("<a href=\"tel:+15735550100\">(573) 555-0100</a>"), "{amp}");
    }

    #[test]
    fn landing_pages_give_their_attribution() {
        let a = Attribution::from_url(
            "https://acme.test/plumbing?utm_source=google&utm_medium=cpc&utm_campaign=plumbing%20leads&gclid=abc123#top",
        );
        assert_eq!(a.utm_source.as_deref(), Some("google"));
        assert_eq!(a.utm_campaign.as_deref(), Some("plumbing leads"));
        assert_eq!(a.gclid.as_deref(), Some("abc123"));
        assert!(a.is_paid());
        let organic =
            Attribution::from_url("https://acme.test/?utm_source=newsletter&utm_medium=email&gclid=");
        assert!(!organic.is_paid(), "an empty gclid is no click");
        assert!(Attribution::from_url("https://acme.test/?utm_medium=PPC").is_paid());
        assert!(Attribution::from_url("https://acme.test/?fbclid=x").is_paid());
        assert_eq!(Attribution::from_url("not a url"), Attribution::default());
        let long = Attribution::from_url(&format!("/?utm_source={}", "x".repeat(500)));
        assert_eq!(long.utm_source.unwrap().len(), 200);
    }

    #[test]
    fn the_paid_filter_admits_paid_clicks_only() {
        let paid = Attribution::from_url("/?gclid=1");
        let organic = Attribution::from_url("/?utm_source=bing&utm_medium=organic");
        assert!(VisitorFilter::Paid.admits(&paid) && !VisitorFilter::Paid.admits(&organic));
        assert!(VisitorFilter::All.admits(&organic));
    }

    #[test]
    fn pools_are_sized_for_their_peak_with_headroom() {
        assert_eq!(recommended_pool_size(0), 2);
        assert_eq!(recommended_pool_size(10), 12);
        assert_eq!(recommended_pool_size(11), 14);
    }

    #[test]
    fn cards_and_passwords_are_never_kept() {
        for name in [
            "password",
            "pwd",
            "PIN",
            "user_pin",
            "cc_num",
            "cc.num",
            "cc/num",
            "cc-number",
            "CardNumber",
            "api_token",
            "apiKey",
            "otp_code",
            "otpCode",
            "account_number",
            "routing_number",
            "ssn",
            "sort-code",
            "security_code",
            "cvv2",
            "Social Security",
            "client_secret",
            "passcode",
        ] {
            assert!(is_secret_field(name), "{name} was kept");
        }
        for name in
            ["name", "email", "phone", "message", "shipping", "pinterest_url", "company", "topic", "notes"]
        {
            assert!(!is_secret_field(name), "{name} was dropped");
        }
        assert_eq!(
            redact_numbers("my card is 4111 1111 1111 1111 exp 12/29"),
            "my card is [redacted] exp 12/29"
        );
        assert_eq!(redact_numbers("4111-1111-1111-1111"), "[redacted]");
        assert_eq!(redact_numbers("4111.1111.1111.1111"), "[redacted]");
        assert_eq!(redact_numbers("4111/1111/1111/1111"), "[redacted]");
        assert_eq!(redact_numbers("4111111111111111"), "[redacted]");
        assert_eq!(redact_numbers("ssn 123-45-6789, thanks"), "ssn [redacted], thanks");
        assert_eq!(redact_numbers("123 45 6789"), "[redacted]");
        assert_eq!(redact_numbers("4111 1111 1111 1112"), "4111 1111 1111 1112", "fails Luhn");
        assert_eq!(
            redact_numbers("call (573) 555-1234 or +1 573 555 1234"),
            "call (573) 555-1234 or +1 573 555 1234"
        );
        assert_eq!(redact_numbers("order 2026-12-04, 3 rooms"), "order 2026-12-04, 3 rooms");
        assert_eq!(
            keep_field("notes", "card 5555555555554444 please"),
            Some("card [redacted] please".into())
        );
        assert_eq!(keep_field("pwd", "hunter2"), None);
    }

    #[test]
    fn contacts_are_picked_out_of_forms() {
        let fields: BTreeMap<String, String> = [
            ("first_name", "Jane"),
            ("last_name", "Doe"),
            ("your-email", "jane@example.com"),
            ("contact_phone", "(573) 555-0142"),
            ("message", "Leaky faucet"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let c = form_contact(&fields);
        assert_eq!(c.name.as_deref(), Some("Jane Doe"));
        assert_eq!(c.email.as_deref(), Some("jane@example.com"));
        assert_eq!(c.phone.as_deref(), Some("+15735550142"));
        let by_value: BTreeMap<String, String> =
            [("a", "bob@example.org"), ("b", "573.555.0199"), ("name", "Bob")]
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect();
        assert_eq!(
            form_contact(&by_value),
            FormContact {
                name: Some("Bob".into()),
                email: Some("bob@example.org".into()),
                phone: Some("+15735550199".into())
            }
        );
    }
}
