//! The North American Numbering Plan: the geographic area codes of the US (with its
//! territories) and Canada, with their state or province, main city and time zone, and
//! the toll-free prefixes. The table is bundled (`data/nanp_area_codes.csv`).

use std::collections::BTreeMap;
use std::sync::LazyLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Country {
    Us,
    Canada,
}

impl Country {
    /// ISO 3166 alpha-2.
    pub fn code(self) -> &'static str {
        match self {
            Country::Us => "US",
            Country::Canada => "CA",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AreaCode {
    pub code: &'static str,
    /// Two-letter state, territory or province.
    pub region: &'static str,
    pub country: Country,
    pub city: &'static str,
    pub timezone: &'static str,
}

/// The toll-free prefixes in service.
pub const TOLL_FREE_PREFIXES: [&str; 7] = ["800", "833", "844", "855", "866", "877", "888"];

static AREA_CODES: LazyLock<BTreeMap<&'static str, AreaCode>> = LazyLock::new(|| {
    include_str!("../data/nanp_area_codes.csv")
        .lines()
        .filter(|line| !line.starts_with('#') && !line.starts_with("area_code"))
        .map(|line| {
            let f: Vec<&'static str> = line.split(',').collect();
            let country = if f[2] == "CA" { Country::Canada } else { Country::Us };
            (f[0], AreaCode { code: f[0], region: f[1], country, city: f[3], timezone: f[4] })
        })
        .collect()
});

/// The geographic area code `code`, if it is one in service.
pub fn area_code(code: &str) -> Option<&'static AreaCode> {
    AREA_CODES.get(code)
}

pub fn area_codes() -> impl Iterator<Item = &'static AreaCode> {
    AREA_CODES.values()
}

pub fn is_toll_free(code: &str) -> bool {
    TOLL_FREE_PREFIXES.contains(&code)
}

/// Whether `exchange` (the NXX after the area code) can be assigned to a subscriber: not
/// N11 service codes, not the 555 directory and fiction block, not 950/958/959/976.
pub fn is_assignable_exchange(exchange: &str) -> bool {
    let b = exchange.as_bytes();
    b.len() == 3
        && b.iter().all(u8::is_ascii_digit)
        && b[0] >= b'2'
        && &b[1..] != b"11"
        && !matches!(exchange, "555" | "950" | "958" | "959" | "976")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_covers_both_countries_with_valid_rows() {
        let all: Vec<_> = area_codes().collect();
        assert!(all.len() > 400, "{}", all.len());
        for a in &all {
            let b = a.code.as_bytes();
            assert!(b.len() == 3 && b[0] >= b'2' && &b[1..] != b"11", "{}", a.code);
            assert_eq!(a.region.len(), 2, "{}", a.code);
            assert!(!a.city.is_empty(), "{}", a.code);
            assert!(jiff::tz::TimeZone::get(a.timezone).is_ok(), "{} {}", a.code, a.timezone);
            assert!(!is_toll_free(a.code));
        }
        assert!(all.iter().any(|a| a.country == Country::Canada));
    }

    #[test]
    fn known_area_codes_are_where_they_should_be() {
        let mo = area_code("573").unwrap();
        assert_eq!((mo.region, mo.country, mo.city), ("MO", Country::Us, "Columbia"));
        assert_eq!(area_code("305").unwrap().city, "Miami");
        assert_eq!(area_code("416").unwrap().country, Country::Canada);
        assert_eq!(area_code("915").unwrap().timezone, "America/Denver");
        assert_eq!(area_code("999"), None);
        assert_eq!(area_code("800"), None);
    }

    #[test]
    fn service_exchanges_are_not_assignable() {
        assert!(!is_assignable_exchange("555"));
        assert!(!is_assignable_exchange("411"));
        assert!(!is_assignable_exchange("155"));
        assert!(is_assignable_exchange("234"));
        assert!(is_assignable_exchange("921"));
    }
}
