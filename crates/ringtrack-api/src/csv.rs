//! CSV cells as RFC 4180 writes them, made safe for spreadsheets: a text cell that a
//! spreadsheet would run as a formula (starting `=`, `+`, `-`, `@`, tab or carriage return)
//! is prefixed with `'`, unless it is a plain number such as `+13055551234`.

use std::fmt::Write;

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use ringtrack_store::calls::Call;
use tokio::sync::mpsc::Receiver;

/// A CSV download streamed as it is read: `head`, then each chunk of calls as `row`
/// renders them. An error part way ends the body early, so the client sees a failed
/// download rather than a short file.
pub fn stream_calls<E: std::fmt::Display + Send + 'static>(
    head: String,
    chunks: Receiver<Result<Vec<Call>, E>>,
    filename: &str,
    mut row: impl FnMut(&mut String, &Call) + Send + 'static,
) -> Response {
    let received = futures_util::stream::unfold(chunks, |mut chunks| async move {
        let next = chunks.recv().await?;
        Some((next, chunks))
    });
    let rows = futures_util::StreamExt::map(received, move |received| match received {
        Ok(chunk) => {
            let mut text = String::with_capacity(chunk.len() * 400);
            for call in &chunk {
                row(&mut text, call);
            }
            Ok(text)
        }
        Err(error) => {
            tracing::error!(%error, "a download stopped part way");
            Err(std::io::Error::other("the download failed"))
        }
    });
    let stream = futures_util::StreamExt::chain(futures_util::stream::iter([Ok(head)]), rows);
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// Appends one row (cells joined by commas, CRLF at the end).
pub fn push_row<'a>(out: &mut String, cells: impl IntoIterator<Item = Cell<'a>>) {
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match cell {
            Cell::Number(n) => {
                let _ = write!(out, "{n}");
            }
            Cell::Text(text) => push_text(out, text),
            Cell::Empty => {}
        }
    }
    out.push_str("\r\n");
}

pub enum Cell<'a> {
    Text(&'a str),
    Number(i64),
    Empty,
}

impl<'a> From<&'a str> for Cell<'a> {
    fn from(text: &'a str) -> Self {
        Cell::Text(text)
    }
}

impl<'a> From<&'a Option<String>> for Cell<'a> {
    fn from(text: &'a Option<String>) -> Self {
        text.as_deref().map_or(Cell::Empty, Cell::Text)
    }
}

impl From<i64> for Cell<'_> {
    fn from(n: i64) -> Self {
        Cell::Number(n)
    }
}

impl From<bool> for Cell<'_> {
    fn from(b: bool) -> Self {
        Cell::Text(if b { "true" } else { "false" })
    }
}

fn is_plain_number(text: &str) -> bool {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|b| *b == b'.').count() <= 1
}

fn push_text(out: &mut String, text: &str) {
    let risky = text.starts_with(['=', '+', '-', '@', '\t', '\r']) && !is_plain_number(text);
    let quoted = risky || text.bytes().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'));
    if !quoted {
        out.push_str(text);
        return;
    }
    out.push('"');
    if risky {
        out.push('\'');
    }
    // Quotes are doubled; everything else is copied as it is, in runs.
    let mut runs = text.split('"');
    out.push_str(runs.next().unwrap_or_default());
    for run in runs {
        out.push_str("\"\"");
        out.push_str(run);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: Vec<Cell<'_>>) -> String {
        let mut out = String::new();
        push_row(&mut out, cells);
        out
    }

    #[test]
    fn rfc_4180_quoting() {
        assert_eq!(row(vec!["plain".into(), 145.into(), Cell::Empty, true.into()]), "plain,145,,true\r\n");
        assert_eq!(
            row(vec!["a,b".into(), "say \"hi\"".into(), "two\nlines".into()]),
            "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n"
        );
    }

    #[test]
    fn formulas_are_neutralised_but_numbers_are_not() {
        assert_eq!(row(vec!["=HYPERLINK(\"http://x\")".into()]), "\"'=HYPERLINK(\"\"http://x\"\")\"\r\n");
        assert_eq!(
            row(vec!["@SUM(A1)".into(), "-2+3".into(), "+cmd|' /C calc'!A0".into()]),
            "\"'@SUM(A1)\",\"'-2+3\",\"'+cmd|' /C calc'!A0\"\r\n"
        );
        assert_eq!(row(vec!["\tx".into()]), "\"'\tx\"\r\n");
        assert_eq!(row(vec!["+13055551234".into(), "-5".into(), "2.5".into()]), "+13055551234,-5,2.5\r\n");
    }
}
