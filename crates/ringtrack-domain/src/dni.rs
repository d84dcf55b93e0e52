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

/// What a captured form holds, with the fields people most want picked out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormContact {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// Whether a field must never be kept: passwords and anything card-like, by its name or
/// by its value (13 to 19 digits passing Luhn's check).
pub fn is_sensitive(name: &str, value: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let by_name = ["pass", "card", "cc-", "ccnum", "cvv", "cvc", "ssn", "security_code", "iban"]
        .iter()
        .any(|word| name.contains(word));
    by_name || looks_like_card(value)
}

fn looks_like_card(value: &str) -> bool {
    let digits: Vec<u32> = value
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_digit(10))
        .collect::<Option<_>>()
        .unwrap_or_default();
    if !(13..=19).contains(&digits.len()) {
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
        assert!(is_sensitive("password", "hunter2"));
        assert!(is_sensitive("cc-number", "x"));
        assert!(is_sensitive("notes", "4111 1111 1111 1111"), "a Luhn-valid card number in any field");
        assert!(!is_sensitive("notes", "4111 1111 1111 1112"));
        assert!(!is_sensitive("phone", "(573) 555-1234"));
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
