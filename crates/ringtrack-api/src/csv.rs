//! CSV cells as RFC 4180 writes them, made safe for spreadsheets: a text cell that a
//! spreadsheet would run as a formula (starting `=`, `+`, `-`, `@`, tab or carriage return)
//! is prefixed with `'`, unless it is a plain number such as `+13055551234`.

/// Appends one row (cells joined by commas, CRLF at the end).
pub fn push_row<'a>(out: &mut String, cells: impl IntoIterator<Item = Cell<'a>>) {
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match cell {
            Cell::Number(n) => out.push_str(&n.to_string()),
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
    if quoted {
        out.push('"');
    }
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
    if quoted {
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: Vec<Cell>) -> String {
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
