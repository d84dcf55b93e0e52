//! Rows, whichever driver produced them: each model says how it reads itself
//! ([`FromRecord`]) from a [`Record`].

use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

/// One result row, whichever driver produced it.
pub(crate) trait Record {
    fn int(&self, column: &str) -> sqlx::Result<i64>;
    fn opt_int(&self, column: &str) -> sqlx::Result<Option<i64>>;
    fn text(&self, column: &str) -> sqlx::Result<String>;
    fn opt_text(&self, column: &str) -> sqlx::Result<Option<String>>;
    fn boolean(&self, column: &str) -> sqlx::Result<bool>;
    fn opt_boolean(&self, column: &str) -> sqlx::Result<Option<bool>>;
    fn bytes(&self, column: &str) -> sqlx::Result<Vec<u8>>;

    fn time(&self, column: &str) -> sqlx::Result<jiff::Timestamp> {
        to_time(column, self.int(column)?)
    }

    fn opt_time(&self, column: &str) -> sqlx::Result<Option<jiff::Timestamp>> {
        self.opt_int(column)?.map(|s| to_time(column, s)).transpose()
    }
}

impl dyn Record + '_ {
    /// A nullable column holding the text form of a typed value.
    pub(crate) fn opt_parsed<T>(&self, column: &str) -> sqlx::Result<Option<T>>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        match self.opt_text(column)? {
            None => Ok(None),
            Some(raw) => parse_column(column, &raw).map(Some),
        }
    }

    /// A column holding the text form of a typed value (an id, a role, …).
    pub(crate) fn parsed<T>(&self, column: &str) -> sqlx::Result<T>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        parse_column(column, &self.text(column)?)
    }
}

fn parse_column<T>(column: &str, raw: &str) -> sqlx::Result<T>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    raw.parse().map_err(|e: T::Err| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: format!("{raw:?}: {e}").into(),
    })
}

fn to_time(column: &str, seconds: i64) -> sqlx::Result<jiff::Timestamp> {
    jiff::Timestamp::from_second(seconds)
        .map_err(|e| sqlx::Error::ColumnDecode { index: column.to_owned(), source: Box::new(e) })
}

/// Where `column` is among a row's `width` columns (`name` gives each one's name), looking
/// first where the last lookup left off: models read columns in the order they select
/// them, so this is usually one comparison (the drivers' own lookup hashes every name).
pub(crate) fn position<'a>(
    width: usize,
    next: &std::cell::Cell<usize>,
    column: &str,
    name: impl Fn(usize) -> &'a str,
) -> sqlx::Result<usize> {
    let start = next.get();
    let found = (0..width)
        .map(|k| (start + k) % width)
        .find(|&i| name(i) == column)
        .ok_or_else(|| sqlx::Error::ColumnNotFound(column.to_owned()))?;
    next.set(found + 1);
    Ok(found)
}

/// A driver's row, its columns found by [`position`].
pub(crate) struct ByName<'r, R> {
    row: &'r R,
    next: std::cell::Cell<usize>,
}

impl<'r, R: Row> ByName<'r, R> {
    pub(crate) fn new(row: &'r R) -> Self {
        ByName { row, next: std::cell::Cell::new(0) }
    }

    fn index(&self, column: &str) -> sqlx::Result<usize> {
        let columns = self.row.columns();
        position(columns.len(), &self.next, column, |i| sqlx::Column::name(&columns[i]))
    }
}

macro_rules! record_for {
    ($($row:ty => $get:ident),*) => {$(
        impl Record for ByName<'_, $row> {
            // Literals and some aggregates are 32-bit on PostgreSQL; widen them.
            fn int(&self, column: &str) -> sqlx::Result<i64> {
                let i = self.index(column)?;
                self.row.$get(i).or_else(|_| self.row.$get::<i32, _>(i).map(i64::from))
            }
            fn opt_int(&self, column: &str) -> sqlx::Result<Option<i64>> {
                let i = self.index(column)?;
                self.row.$get(i).or_else(|_| self.row.$get::<Option<i32>, _>(i).map(|v| v.map(i64::from)))
            }
            fn text(&self, column: &str) -> sqlx::Result<String> {
                self.row.$get(self.index(column)?)
            }
            fn opt_text(&self, column: &str) -> sqlx::Result<Option<String>> {
                self.row.$get(self.index(column)?)
            }
            fn boolean(&self, column: &str) -> sqlx::Result<bool> {
                self.row.$get(self.index(column)?)
            }
            fn opt_boolean(&self, column: &str) -> sqlx::Result<Option<bool>> {
                self.row.$get(self.index(column)?)
            }
            fn bytes(&self, column: &str) -> sqlx::Result<Vec<u8>> {
                self.row.$get(self.index(column)?)
            }
        }
    )*};
}
// PostgreSQL's columns have the types our migrations give them, and the test suite reads
// every model on PostgreSQL, so its rows skip the driver's per-value type check (a tenth of
// a list's work; text must still be UTF-8, and integers at most 8 bytes). SQLite's values
// carry their own types, so its rows keep the check.
record_for!(SqliteRow => try_get, PgRow => try_get_unchecked);

/// A column holding JSON (lists and maps kept as text), read into `T`.
pub(crate) fn json_column<T: serde::de::DeserializeOwned>(row: &dyn Record, column: &str) -> sqlx::Result<T> {
    serde_json::from_str(&row.text(column)?)
        .map_err(|e| sqlx::Error::ColumnDecode { index: column.to_owned(), source: Box::new(e) })
}

/// How a model reads itself from a row.
pub(crate) trait FromRecord: Sized {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self>;
}

/// A single number, read from the column named `value` (`SELECT count(*) AS value …`).
impl FromRecord for i64 {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        row.int("value")
    }
}

/// A single text, read from the column named `value`.
impl FromRecord for String {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        row.text("value")
    }
}

/// Items gathered into chunks of one size, to stream a statement's rows.
pub(crate) struct Chunks<T> {
    size: usize,
    items: Vec<T>,
}

impl<T> Chunks<T> {
    pub(crate) fn new(size: usize) -> Self {
        Chunks { size, items: Vec::with_capacity(size) }
    }

    /// Adds an item; answers the chunk it completes, if it completes one.
    pub(crate) fn push(&mut self, item: T) -> Option<Vec<T>> {
        self.items.push(item);
        (self.items.len() >= self.size)
            .then(|| std::mem::replace(&mut self.items, Vec::with_capacity(self.size)))
    }

    /// The last chunk, short, if anything is left.
    pub(crate) fn rest(self) -> Option<Vec<T>> {
        (!self.items.is_empty()).then_some(self.items)
    }
}

/// Declares a model read from rows, each field stated once: its type, how it reads its
/// column (a [`Record`] method, or `json`/`cents`) and, when the names differ, the
/// column's name. Makes the struct, its `FromRecord` and a constant naming its columns in
/// order, for `SELECT`s.
macro_rules! model {
    (
        $(#[$meta:meta])*
        pub struct $name:ident, columns $columns:ident {
            $(#[$first_meta:meta])*
            pub $first:ident: $first_ty:ty = $first_read:ident $(($first_column:literal))?,
            $(
                $(#[$field_meta:meta])*
                pub $field:ident: $ty:ty = $read:ident $(($column:literal))?,
            )*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $(#[$first_meta])*
            pub $first: $first_ty,
            $(
                $(#[$field_meta])*
                pub $field: $ty,
            )*
        }

        const $columns: &str = concat!(
            model!(@column $first $(, $first_column)?)
            $(, ", ", model!(@column $field $(, $column)?))*
        );

        impl $crate::record::FromRecord for $name {
            fn from_record(row: &dyn $crate::record::Record) -> sqlx::Result<Self> {
                Ok($name {
                    $first: model!(@read row, $first_read, model!(@column $first $(, $first_column)?)),
                    $($field: model!(@read row, $read, model!(@column $field $(, $column)?)),)*
                })
            }
        }
    };
    (@column $field:ident) => { stringify!($field) };
    (@column $field:ident, $column:literal) => { $column };
    (@read $row:ident, json, $column:expr) => { $crate::record::json_column($row, $column)? };
    (@read $row:ident, cents, $column:expr) => { ringtrack_domain::Cents::new($row.int($column)?) };
    (@read $row:ident, $method:ident, $column:expr) => { $row.$method($column)? };
}
pub(crate) use model;
