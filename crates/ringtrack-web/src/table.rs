//! Numbers as a table: what a chart's figures, the leads by source, a report and the agency
//! view show on the page and give as CSV — one shape, so the page and the file never differ.
//! Columns carry the API's field names (the CSV's header) and the words people read.

use std::cmp::Ordering;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use ringtrack_core::csv::{Cell, push_row};
use ringtrack_store::analytics::Measure;

use crate::format::{duration, grouped, money};

/// A column: its field name (the CSV's header, the `sort` word) and its label.
#[derive(Clone, Debug)]
pub struct Column {
    pub name: String,
    pub label: String,
}

impl Column {
    pub fn new(name: impl Into<String>, label: impl Into<String>) -> Column {
        Column { name: name.into(), label: label.into() }
    }
}

/// A cell's value, as the CSV holds it; the page writes it as people read it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Text(Option<String>),
    Count(i64),
    /// A percentage or a score, to a tenth.
    Tenths(Option<f64>),
    Seconds(Option<i64>),
    Cents(Option<i64>),
}

impl From<Measure> for Value {
    fn from(measure: Measure) -> Value {
        match measure {
            Measure::Count(n) => Value::Count(n),
            Measure::Percent(x) | Measure::Score(x) => Value::Tenths(x),
            Measure::Seconds(s) => Value::Seconds(s),
        }
    }
}

impl Value {
    fn is_number(&self) -> bool {
        !matches!(self, Value::Text(_))
    }

    /// What the page shows.
    fn shown(&self, column: &str) -> String {
        let dash = || "—".to_owned();
        match self {
            Value::Text(Some(text)) => text.clone(),
            Value::Text(None) => match column {
                "utm_campaign" => "(no campaign)",
                "landing_page" => "(not from a web visit)",
                _ => "—",
            }
            .to_owned(),
            Value::Count(n) => grouped(n.unsigned_abs()),
            Value::Tenths(x) => x.map_or_else(dash, |x| {
                if column.ends_with("pct") { format!("{x:.1}%") } else { format!("{x:.1}") }
            }),
            Value::Seconds(s) => s.map_or_else(dash, duration),
            Value::Cents(c) => c.map_or_else(dash, money),
        }
    }

    /// What the CSV holds: numbers as the API writes them, money in cents.
    fn raw(&self) -> String {
        match self {
            Value::Text(text) => text.clone().unwrap_or_default(),
            Value::Count(n) => n.to_string(),
            Value::Tenths(x) => x.map(|x| x.to_string()).unwrap_or_default(),
            Value::Seconds(n) | Value::Cents(n) => n.map(|n| n.to_string()).unwrap_or_default(),
        }
    }

    fn order(&self, other: &Value) -> Ordering {
        let number = |v: &Value| match v {
            Value::Count(n) => Some(*n as f64),
            Value::Tenths(x) => *x,
            Value::Seconds(n) | Value::Cents(n) => n.map(|n| n as f64),
            Value::Text(_) => None,
        };
        match (self, other) {
            (Value::Text(a), Value::Text(b)) => a.cmp(b),
            // Nothing to show sorts below every number.
            _ => number(self).partial_cmp(&number(other)).unwrap_or(Ordering::Equal),
        }
    }
}

/// A cell: its value and, where it counts calls, the call log showing exactly them.
#[derive(Clone, Debug)]
pub struct Entry {
    pub value: Value,
    pub link: Option<String>,
}

impl Entry {
    pub fn new(value: Value) -> Entry {
        Entry { value, link: None }
    }

    pub fn linked(value: Value, link: Option<String>) -> Entry {
        Entry { value, link }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Entry>>,
}

/// How a table is ordered, and how a heading's link is made from a sort word.
pub type Sorting<'a> = (&'a Sort, &'a dyn Fn(&str) -> String);

/// A column to order rows by, and which way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sort {
    pub column: String,
    pub descending: bool,
}

impl Sort {
    /// `count` (ascending) or `-count` (descending).
    pub fn parse(raw: &str) -> Sort {
        let raw = raw.trim();
        match raw.strip_prefix('-') {
            Some(column) => Sort { column: column.to_owned(), descending: true },
            None => Sort { column: raw.to_owned(), descending: false },
        }
    }

    pub fn word(&self) -> String {
        format!("{}{}", if self.descending { "-" } else { "" }, self.column)
    }
}

impl Table {
    pub fn position(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Orders the rows by a column (stably: rows that tie keep their order); an unknown
    /// column leaves them as they are.
    pub fn sort(&mut self, sort: &Sort) {
        let Some(at) = self.position(&sort.column) else { return };
        self.rows.sort_by(|a, b| {
            let order = a[at].value.order(&b[at].value);
            if sort.descending { order.reverse() } else { order }
        });
    }

    /// The table as HTML; with `sorting`, each header is a link that orders by its column
    /// (`href` makes the link from the sort word).
    pub fn render(&self, caption: &str, sorting: Option<Sorting<'_>>) -> Markup {
        html! {
            table.list.numbers {
                caption { (caption) }
                thead { tr {
                    @for column in &self.columns { (header(column, sorting)) }
                } }
                tbody {
                    @for row in &self.rows {
                        tr {
                            @for (column, entry) in self.columns.iter().zip(row) {
                                td data-label=(column.label) class=[entry.value.is_number().then_some("number")] {
                                    @match &entry.link {
                                        Some(link) => a href=(link) { (entry.value.shown(&column.name)) },
                                        None => (entry.value.shown(&column.name)),
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The table as a CSV file, downloaded as `filename`.
    pub fn csv(&self, filename: &str) -> Response {
        let mut out = String::new();
        push_row(&mut out, self.columns.iter().map(|c| Cell::Text(&c.name)));
        for row in &self.rows {
            let raw: Vec<String> = row.iter().map(|e| e.value.raw()).collect();
            push_row(
                &mut out,
                raw.iter().map(|text| if text.is_empty() { Cell::Empty } else { Cell::Text(text) }),
            );
        }
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
            out,
        )
            .into_response()
    }
}

/// A column's heading; with `sorting`, a link that orders the rows by it (`href` makes
/// the link from the sort word), saying which way it will.
pub fn header(column: &Column, sorting: Option<Sorting<'_>>) -> Markup {
    let sorted = sorting.filter(|(s, _)| s.column == column.name).map(|(s, _)| s.descending);
    html! {
        th scope="col" aria-sort=[sorted.map(|d| if d { "descending" } else { "ascending" })] {
            @match sorting {
                Some((_, href)) => {
                    @let next = Sort { column: column.name.clone(), descending: sorted != Some(true) };
                    a href=(href(&next.word())) { (column.label)
                        span.visually-hidden { ", sort " (if next.descending { "descending" } else { "ascending" }) }
                    }
                }
                None => (column.label),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_sort_by_any_column_either_way() {
        let mut table = Table {
            columns: vec![Column::new("source", "Source"), Column::new("count", "Calls")],
            rows: [("google", 3), ("bing", 7), ("direct", 5)]
                .map(|(s, n)| vec![Entry::new(Value::Text(Some(s.into()))), Entry::new(Value::Count(n))])
                .into(),
        };
        table.sort(&Sort::parse("-count"));
        let order = |t: &Table| t.rows.iter().map(|r| r[0].value.raw()).collect::<Vec<_>>();
        assert_eq!(order(&table), ["bing", "direct", "google"]);
        table.sort(&Sort::parse("source"));
        assert_eq!(order(&table), ["bing", "direct", "google"]);
        table.sort(&Sort::parse("-source"));
        assert_eq!(order(&table), ["google", "direct", "bing"]);
        assert_eq!(Sort::parse("-count").word(), "-count");
    }
}
