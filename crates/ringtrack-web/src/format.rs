//! Values as people write them (UI.md): phone numbers `(573) 555-0142`, durations `2:25`,
//! money `$42.15`, counts `12,480`, our words in plain English.

use ringtrack_domain::PhoneNumber;

/// `(573) 555-0142`; what does not parse as a number is shown as it came.
pub fn national(raw: &str) -> String {
    PhoneNumber::parse(raw).map_or_else(|_| raw.to_owned(), |n| n.national_format())
}

/// Who called: "Withheld" when the caller hid their number, else [`national`].
pub fn caller(raw: &str, withheld: bool) -> String {
    if withheld { "Withheld".to_owned() } else { national(raw) }
}

/// [`national`], or a dash for no number.
pub fn national_or_dash(raw: Option<&str>) -> String {
    raw.map_or_else(|| "—".to_owned(), national)
}

/// `2:25`, or `1:02:05` past an hour.
pub fn duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (hours, minutes, rest) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if hours > 0 { format!("{hours}:{minutes:02}:{rest:02}") } else { format!("{minutes}:{rest:02}") }
}

/// `1:05` for 65.3 seconds into a recording.
pub fn clock(seconds: f64) -> String {
    duration(seconds.max(0.0) as i64)
}

/// `12,480`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `1 page`, `12,480 pages`.
pub fn count(n: i64, one: &str, many: &str) -> String {
    format!("{} {}", grouped(n.unsigned_abs()), if n == 1 { one } else { many })
}

/// `$42.15`.
pub fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}${}.{:02}", grouped(cents.unsigned_abs() / 100), cents.unsigned_abs() % 100)
}

/// `very_good` as people write it: `Very good`.
pub fn plain_words(word: &str) -> String {
    let spaced = word.replace('_', " ");
    let mut chars = spaced.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_are_written_as_people_write_them() {
        assert_eq!(super::duration(145), "2:25");
        assert_eq!(super::duration(3725), "1:02:05");
        assert_eq!(super::clock(65.3), "1:05");
        assert_eq!(super::grouped(12_480), "12,480");
        assert_eq!(super::grouped(999), "999");
        assert_eq!(super::grouped(1_000_000), "1,000,000");
        assert_eq!(super::count(1, "page", "pages"), "1 page");
        assert_eq!(super::count(12_480, "page", "pages"), "12,480 pages");
        assert_eq!(super::money(4215), "$42.15");
        assert_eq!(super::money(123_456_789), "$1,234,567.89");
        assert_eq!(super::money(-300), "-$3.00");
        assert_eq!(super::plain_words("very_good"), "Very good");
        assert_eq!(super::national("+15735550142"), "(573) 555-0142");
        assert_eq!(super::national("anonymous"), "anonymous");
        assert_eq!(super::national_or_dash(None), "—");
    }
}
