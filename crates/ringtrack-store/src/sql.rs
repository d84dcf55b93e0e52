//! A statement: SQL text written once for both databases, with `$n` placeholders, and
//! its arguments.

/// An argument value. Ids and times are turned into text and integers before binding.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(Option<bool>),
    Bytes(Vec<u8>),
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(Some(v))
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Value::Int(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(Some(v))
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(Some(v.to_owned()))
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(Some(v))
    }
}
impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        v.map(str::to_owned).into()
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Value::Text(v)
    }
}
impl From<jiff::Timestamp> for Value {
    fn from(v: jiff::Timestamp) -> Self {
        Value::Int(Some(v.as_second()))
    }
}
impl From<Option<jiff::Timestamp>> for Value {
    fn from(v: Option<jiff::Timestamp>) -> Self {
        Value::Int(v.map(jiff::Timestamp::as_second))
    }
}
impl From<Option<bool>> for Value {
    fn from(v: Option<bool>) -> Self {
        Value::Bool(v)
    }
}
impl From<Option<uuid::Uuid>> for Value {
    fn from(v: Option<uuid::Uuid>) -> Self {
        Value::Text(v.map(|id| id.to_string()))
    }
}

impl From<uuid::Uuid> for Value {
    fn from(v: uuid::Uuid) -> Self {
        Value::Text(Some(v.hyphenated().to_string()))
    }
}

macro_rules! id_values {
    ($($id:ty),*) => {$(
        impl From<$id> for Value {
            fn from(v: $id) -> Self {
                v.as_uuid().into()
            }
        }

        impl From<Option<$id>> for Value {
            fn from(v: Option<$id>) -> Self {
                Value::Text(v.map(|id| id.as_uuid().hyphenated().to_string()))
            }
        }
    )*};
}
id_values!(
    ringtrack_domain::BusinessId,
    ringtrack_domain::ApiKeyId,
    ringtrack_domain::NumberId,
    ringtrack_domain::NumberGroupId,
    ringtrack_domain::NumberPoolId,
    ringtrack_domain::CallFlowId,
    ringtrack_domain::CallId,
    ringtrack_domain::MessageId,
    ringtrack_domain::FormId,
    ringtrack_domain::VoicemailId,
    ringtrack_domain::WebhookId,
    ringtrack_domain::DeliveryId,
    ringtrack_domain::UserId,
    ringtrack_domain::ReportId
);

/// SQL text plus its arguments, built up in order.
#[derive(Clone, Debug)]
pub(crate) struct Sql {
    pub(crate) text: String,
    pub(crate) args: Vec<Value>,
    /// Reads at most one row through a unique index (see [`Sql::on_unique_key`]).
    pub(crate) unique_key: bool,
}

impl Sql {
    /// A statement whose text already numbers its placeholders `$1`, `$2`, …
    pub(crate) fn new(text: impl Into<String>) -> Self {
        Self { text: text.into(), args: Vec::new(), unique_key: false }
    }

    /// Marks a statement that reads at most one row through a unique index, whatever the
    /// data: cheap enough that SQLite's readers run it without leaving the async thread.
    pub(crate) fn on_unique_key(mut self) -> Self {
        self.unique_key = true;
        self
    }

    /// Supplies the next numbered argument.
    pub(crate) fn bind(mut self, value: impl Into<Value>) -> Self {
        self.args.push(value.into());
        self
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends the conditions that keep rows created within `range`.
    pub(crate) fn push_period(&mut self, range: &ringtrack_domain::dates::DateRange) -> &mut Self {
        if let Some(start) = range.from {
            self.push(" AND created_at >= ").push_bind(start);
        }
        if let Some(end) = range.to {
            self.push(" AND created_at < ").push_bind(end);
        }
        self
    }

    /// Appends the conditions keeping UTC days `[first, end)` (a side `None`: unbounded)
    /// of a table keyed by `day`.
    pub(crate) fn push_days(&mut self, (first, end): (Option<i64>, Option<i64>)) -> &mut Self {
        if let Some(first) = first {
            self.push(" AND day >= ").push_bind(first);
        }
        if let Some(end) = end {
            self.push(" AND day < ").push_bind(end);
        }
        self
    }

    /// The text with every placeholder `$n` renumbered `$(n + offset)`: for placing this
    /// statement inside another that binds `offset` arguments before this one's.
    pub(crate) fn text_numbered_after(&self, offset: usize) -> String {
        let mut out = String::with_capacity(self.text.len() + 8);
        let mut rest = self.text.as_str();
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..=at]);
            rest = &rest[at + 1..];
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            let n: usize = rest[..digits].parse().expect("a placeholder is numbered");
            out.push_str(&(n + offset).to_string());
            rest = &rest[digits..];
        }
        out.push_str(rest);
        out
    }

    /// Appends a placeholder for `value`, numbered after the arguments already bound.
    pub(crate) fn push_bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.args.push(value.into());
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self
    }
}

/// SQLite keeps `$1`-style parameters in a list it walks on every lookup by position, and
/// sqlx looks each one up while binding: a statement with thousands of them (a multi-row
/// insert) binds in quadratic time. When a statement numbers its placeholders `$1, $2, …`
/// in order, each used once, they become plain `?`s, which SQLite binds by position
/// directly; otherwise `$n` becomes SQLite's numbered `?n`. Statements never hold a `$`
/// outside a placeholder: values are always bound.
pub(crate) fn sqlite_placeholders(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('$') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut in_order = true;
    let mut expected = 1usize;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let start = i + 1;
            let mut end = start;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
            if text[start..end].parse::<usize>().ok() != Some(expected) {
                in_order = false;
                break;
            }
            expected += 1;
            i = end;
        } else {
            i += 1;
        }
    }
    if !in_order {
        return std::borrow::Cow::Owned(text.replace('$', "?"));
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' {
            out.push('?');
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::sqlite_placeholders;

    #[test]
    fn renumbered_placeholders_follow_the_offset() {
        let sql = super::Sql::new("a = $1 AND b IN ($2, $10)");
        assert_eq!(sql.text_numbered_after(3), "a = $4 AND b IN ($5, $13)");
        assert_eq!(super::Sql::new("SELECT 1").text_numbered_after(3), "SELECT 1");
    }

    #[test]
    fn placeholders_in_order_become_positional() {
        assert_eq!(sqlite_placeholders("SELECT 1"), "SELECT 1");
        assert_eq!(sqlite_placeholders("a = $1 AND b IN ($2, $3)"), "a = ? AND b IN (?, ?)");
        assert_eq!(sqlite_placeholders("VALUES ($1, $2, $2)"), "VALUES (?1, ?2, ?2)");
        assert_eq!(sqlite_placeholders("x = $2 AND y = $1"), "x = ?2 AND y = ?1");
    }
}
