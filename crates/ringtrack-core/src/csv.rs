//! CSV downloads (the call export, the Google Ads file): cells as RFC 4180 writes them, made safe for spreadsheets: a text cell that a
//! spreadsheet would run as a formula (starting `=`, `+`, `-`, `@`, tab or carriage return)
//! is prefixed with `'`, unless it is a plain number such as `+13055551234`.

use std::fmt::Write;

use futures_util::Stream;
use jiff::Timestamp;
use ringtrack_domain::BusinessId;
use ringtrack_domain::calls::CallFilter;
use ringtrack_store::Store;
use ringtrack_store::calls::{self, Call};
use tokio::sync::mpsc::Receiver;

/// A CSV file streamed as it is read: `head`, then each chunk of calls as `row` renders
/// them. An error part way ends the stream with an error, so the client sees a failed
/// download rather than a short file.
pub fn stream<E: std::fmt::Display + Send + 'static>(
    head: String,
    chunks: Receiver<Result<Vec<Call>, E>>,
    mut row: impl FnMut(&mut String, &Call) + Send + 'static,
) -> impl Stream<Item = Result<String, std::io::Error>> + Send + 'static {
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
    futures_util::StreamExt::chain(futures_util::stream::iter([Ok(head)]), rows)
}

/// Every call `filter` selects, as the call export's CSV (the API's and the app's).
pub fn calls(
    store: &Store,
    business_id: BusinessId,
    filter: &CallFilter,
) -> impl Stream<Item = Result<String, std::io::Error>> + Send + 'static {
    let mut head = String::new();
    push_row(&mut head, CALL_COLUMNS.iter().map(|h| Cell::Text(h)));
    stream(head, calls::export(store, business_id, filter), push_call)
}

/// The name a call export is downloaded under.
pub fn calls_filename(now: Timestamp) -> String {
    format!("calls-{}.csv", now.strftime("%Y%m%d-%H%M%S"))
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

const CALL_COLUMNS: [&str; 36] = [
    "id",
    "caller_number",
    "tracking_number",
    "destination_number",
    "call_flow_name",
    "status",
    "duration_seconds",
    "qualified",
    "ai_score",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "gclid",
    "landing_page",
    "has_transcription",
    "created_at",
    "number_id",
    "call_flow_id",
    "call_flow_version",
    "direction",
    "caller_city",
    "caller_state",
    "caller_zip",
    "first_time_caller",
    "referrer",
    "session_id",
    "has_recording",
    "ai_category",
    "ai_reasons",
    "cost_cents",
    "notes",
    "tags",
    "answered_at",
    "ended_at",
    "updated_at",
    "recording",
];

fn push_call(out: &mut String, c: &Call) {
    let time = |t: Option<Timestamp>| t.map(|t| t.to_string());
    let (created, answered, ended, updated) =
        (c.created_at.to_string(), time(c.answered_at), time(c.ended_at), c.updated_at.to_string());
    let (id, number, flow) =
        (c.id.to_string(), c.number_id.map(|n| n.to_string()), c.call_flow_id.map(|f| f.to_string()));
    let (reasons, tags) = (c.ai_reasons.join("; "), c.tags.join("; "));
    let cells: Vec<Cell<'_>> = vec![
        id.as_str().into(),
        c.caller_number.as_str().into(),
        (&c.tracking_number).into(),
        (&c.destination_number).into(),
        (&c.call_flow_name).into(),
        c.status.as_str().into(),
        c.duration_seconds.into(),
        c.qualified.into(),
        c.ai_score.map_or(Cell::Empty, Cell::Number),
        (&c.utm_source).into(),
        (&c.utm_medium).into(),
        (&c.utm_campaign).into(),
        (&c.gclid).into(),
        (&c.landing_page).into(),
        c.has_transcription.into(),
        created.as_str().into(),
        (&number).into(),
        (&flow).into(),
        c.call_flow_version.map_or(Cell::Empty, Cell::Number),
        c.direction.as_str().into(),
        (&c.caller_city).into(),
        (&c.caller_state).into(),
        (&c.caller_zip).into(),
        c.first_time_caller.into(),
        (&c.referrer).into(),
        (&c.session_id).into(),
        c.recording_url.is_some().into(),
        (&c.ai_category).into(),
        reasons.as_str().into(),
        c.cost.get().into(),
        (&c.notes).into(),
        tags.as_str().into(),
        (&answered).into(),
        (&ended).into(),
        updated.as_str().into(),
        if c.recording_url.is_some() { Cell::Text("yes") } else { Cell::Empty },
    ];
    push_row(out, cells);
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
