//! List paging, the same for every resource. Lists are newest first. A client pages with
//! `page`/`per_page`, with `limit`/`offset`, or with an opaque `cursor` taken from the
//! previous answer's `next_cursor`; the cursor is a keyset position `(created_at, id)`, so
//! it stays stable while new rows arrive at the top. Out-of-range values are refused,
//! never silently clamped.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use uuid::Uuid;

use crate::validation::{FieldError, FieldErrors};

pub const DEFAULT_PER_PAGE: u32 = 25;
pub const MAX_PER_PAGE: u32 = 250;

/// The paging parameters as they arrive in a query string, still unparsed so that a bad
/// value can be reported with its own name.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PagingParams {
    pub page: Option<String>,
    pub per_page: Option<String>,
    pub limit: Option<String>,
    pub offset: Option<String>,
    pub cursor: Option<String>,
}

/// Where a page starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Position {
    /// Skip this many rows of the newest-first order.
    Offset(u64),
    /// Rows strictly older than this keyset position.
    After(Cursor),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub position: Position,
}

/// A keyset position: the sort key of the last row a client has seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: i64,
    pub id: Uuid,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { limit: DEFAULT_PER_PAGE, position: Position::Offset(0) }
    }
}

impl PageRequest {
    pub fn parse(params: &PagingParams) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut field = |name: &str, raw: &Option<String>, min: u64, max: u64| {
            raw.as_deref().and_then(|raw| match parse_bounded(name, raw, min, max) {
                Ok(n) => Some(n),
                Err(e) => {
                    errors.push(e.field, e.message);
                    None
                }
            })
        };
        let page = field("page", &params.page, 1, i64::MAX as u64);
        let per_page = field("per_page", &params.per_page, 1, u64::from(MAX_PER_PAGE));
        let limit = field("limit", &params.limit, 1, u64::from(MAX_PER_PAGE));
        let offset = field("offset", &params.offset, 0, i64::MAX as u64);

        if params.per_page.is_some() && params.limit.is_some() {
            errors.push("limit", "use either per_page or limit, not both");
        }
        if params.page.is_some() && params.offset.is_some() {
            errors.push("offset", "use either page or offset, not both");
        }
        let cursor = match params.cursor.as_deref() {
            None => None,
            Some(_) if params.page.is_some() || params.offset.is_some() => {
                errors.push("cursor", "cannot be combined with page or offset");
                None
            }
            Some(raw) => match Cursor::decode(raw) {
                Some(cursor) => Some(cursor),
                None => {
                    errors.push("cursor", "is not a cursor returned by this API");
                    None
                }
            },
        };

        let limit = per_page.or(limit).unwrap_or(u64::from(DEFAULT_PER_PAGE)) as u32;
        let position = match (cursor, page, offset) {
            (Some(cursor), _, _) => Position::After(cursor),
            (None, Some(page), _) => match (page - 1).checked_mul(u64::from(limit)) {
                Some(skip) if skip <= i64::MAX as u64 => Position::Offset(skip),
                _ => {
                    errors.push("page", "is too large");
                    Position::Offset(0)
                }
            },
            (None, None, offset) => Position::Offset(offset.unwrap_or(0)),
        };
        errors.finish(PageRequest { limit, position })
    }

    /// The 1-based page number this request is, when it is offset-based.
    pub fn page_number(&self) -> Option<u64> {
        match self.position {
            Position::Offset(skip) => Some(skip / u64::from(self.limit) + 1),
            Position::After(_) => None,
        }
    }
}

fn parse_bounded(field: &str, raw: &str, min: u64, max: u64) -> Result<u64, FieldError> {
    let message = || format!("must be a whole number from {min} to {max}");
    let value: u64 = raw.trim().parse().map_err(|_| FieldError::new(field, message()))?;
    if (min..=max).contains(&value) { Ok(value) } else { Err(FieldError::new(field, message())) }
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("v1:{}:{}", self.created_at, self.id.simple()))
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).ok()?;
        let text = std::str::from_utf8(&bytes).ok()?;
        let mut parts = text.splitn(3, ':');
        if parts.next()? != "v1" {
            return None;
        }
        let created_at = parts.next()?.parse().ok()?;
        let id = Uuid::try_parse(parts.next()?).ok()?;
        Some(Cursor { created_at, id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> PagingParams {
        let mut p = PagingParams::default();
        for (k, v) in pairs {
            let v = Some((*v).to_owned());
            match *k {
                "page" => p.page = v,
                "per_page" => p.per_page = v,
                "limit" => p.limit = v,
                "offset" => p.offset = v,
                "cursor" => p.cursor = v,
                _ => unreachable!(),
            }
        }
        p
    }

    fn fields(err: FieldErrors) -> Vec<String> {
        err.into_vec().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn defaults_to_the_first_25() {
        let req = PageRequest::parse(&params(&[])).unwrap();
        assert_eq!(req, PageRequest { limit: 25, position: Position::Offset(0) });
        assert_eq!(req.page_number(), Some(1));
    }

    #[test]
    fn page_and_per_page_become_an_offset() {
        let req = PageRequest::parse(&params(&[("page", "3"), ("per_page", "10")])).unwrap();
        assert_eq!(req, PageRequest { limit: 10, position: Position::Offset(20) });
        assert_eq!(req.page_number(), Some(3));
    }

    #[test]
    fn limit_and_offset_are_taken_as_given() {
        let req = PageRequest::parse(&params(&[("limit", "250"), ("offset", "7")])).unwrap();
        assert_eq!(req, PageRequest { limit: 250, position: Position::Offset(7) });
    }

    #[test]
    fn out_of_range_values_are_refused_with_their_name() {
        for (pairs, field) in [
            (vec![("per_page", "0")], "per_page"),
            (vec![("per_page", "1000")], "per_page"),
            (vec![("per_page", "ten")], "per_page"),
            (vec![("limit", "251")], "limit"),
            (vec![("page", "0")], "page"),
            (vec![("offset", "-1")], "offset"),
            (vec![("page", "99999999999999999999")], "page"),
            (vec![("page", "9223372036854775807"), ("per_page", "250")], "page"),
            (vec![("per_page", "5"), ("limit", "5")], "limit"),
            (vec![("page", "1"), ("offset", "5")], "offset"),
            (vec![("cursor", "not-a-cursor")], "cursor"),
        ] {
            let err = PageRequest::parse(&params(&pairs)).unwrap_err();
            assert_eq!(fields(err), vec![field], "{pairs:?}");
        }
    }

    #[test]
    fn every_bad_value_is_reported_at_once() {
        let err = PageRequest::parse(&params(&[("page", "x"), ("per_page", "0")])).unwrap_err();
        assert_eq!(fields(err), vec!["page", "per_page"]);
    }

    #[test]
    fn cursors_round_trip_and_exclude_offsets() {
        let cursor = Cursor { created_at: 1_774_276_200, id: Uuid::now_v7() };
        let encoded = cursor.encode();
        assert_eq!(Cursor::decode(&encoded), Some(cursor.clone()));
        let req = PageRequest::parse(&params(&[("cursor", &encoded), ("per_page", "5")])).unwrap();
        assert_eq!(req, PageRequest { limit: 5, position: Position::After(cursor) });
        assert_eq!(req.page_number(), None);
        let err = PageRequest::parse(&params(&[("cursor", &encoded), ("page", "2")])).unwrap_err();
        assert_eq!(fields(err), vec!["cursor"]);
    }

    #[test]
    fn tampered_cursors_are_refused() {
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode("v2:1:abc")), None);
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode("v1:x:0190")), None);
        assert_eq!(Cursor::decode("%%%"), None);
    }
}
