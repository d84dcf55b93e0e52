//! People who sign in to the web app: users, the businesses each belongs to (with a role),
//! their sessions and the single-use links that set a password. Session and link tokens
//! are kept only as their SHA-256; passwords only as Argon2id hashes (made by the core).

use jiff::Timestamp;
use ringtrack_domain::people::Email;
use ringtrack_domain::{BusinessId, Role, SecretHash, UserId};

use crate::record::{FromRecord, Record};
use crate::sql::Sql;
use crate::{Connection, Result, Tx};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: String,
    /// Argon2id, PHC string; `None` until the person sets a password through a link.
    pub password_hash: Option<String>,
    /// The sealed TOTP secret, once two-factor is being set up or is on.
    pub totp_secret: Option<String>,
    pub totp_enabled_at: Option<Timestamp>,
    /// The last 30-second step a code was accepted for.
    pub totp_last_step: Option<i64>,
    /// Sessions started before this are over.
    pub sessions_valid_after: Timestamp,
    pub created_at: Timestamp,
}

const COLUMNS: &str = "id, email, name, password_hash, totp_secret, totp_enabled_at, totp_last_step, \
    sessions_valid_after, created_at";

impl FromRecord for User {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(User {
            id: row.parsed("id")?,
            email: Email::from_stored(row.text("email")?),
            name: row.text("name")?,
            password_hash: row.opt_text("password_hash")?,
            totp_secret: row.opt_text("totp_secret")?,
            totp_enabled_at: row.opt_time("totp_enabled_at")?,
            totp_last_step: row.opt_int("totp_last_step")?,
            sessions_valid_after: row.time("sessions_valid_after")?,
            created_at: row.time("created_at")?,
        })
    }
}

/// A business a user belongs to, and what they may do there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub business_id: BusinessId,
    pub business_name: String,
    pub role: Role,
}

impl FromRecord for Membership {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(Membership {
            business_id: row.parsed("business_id")?,
            business_name: row.text("business_name")?,
            role: row.parsed("role")?,
        })
    }
}

/// Creates a user with no password yet; `None` when the address is taken.
pub async fn create(tx: &mut Tx, email: &Email, name: &str) -> Result<Option<User>> {
    let now = tx.now();
    let user = User {
        id: UserId::new(),
        email: email.clone(),
        name: name.to_owned(),
        password_hash: None,
        totp_secret: None,
        totp_enabled_at: None,
        totp_last_step: None,
        sessions_valid_after: now,
        created_at: now,
    };
    let insert = Sql::new(
        "INSERT INTO users (id, email, name, sessions_valid_after, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $4, $4) ON CONFLICT (email) DO NOTHING",
    )
    .bind(user.id)
    .bind(email.as_str())
    .bind(name)
    .bind(now);
    Ok((tx.conn().execute(insert).await? == 1).then_some(user))
}

pub async fn by_email(mut db: impl Connection, email: &Email) -> Result<Option<User>> {
    let select = Sql::new(format!("SELECT {COLUMNS} FROM users WHERE email = $1"))
        .bind(email.as_str())
        .on_unique_key();
    Ok(db.conn().fetch_optional(select).await?)
}

pub async fn by_id(mut db: impl Connection, id: UserId) -> Result<Option<User>> {
    let select = Sql::new(format!("SELECT {COLUMNS} FROM users WHERE id = $1")).bind(id).on_unique_key();
    Ok(db.conn().fetch_optional(select).await?)
}

/// Gives the user `role` in the business (or changes the role they had there).
pub async fn add_membership(tx: &mut Tx, user: UserId, business: BusinessId, role: Role) -> Result<()> {
    let upsert = Sql::new(
        "INSERT INTO memberships (user_id, business_id, role, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, business_id) DO UPDATE SET role = excluded.role",
    )
    .bind(user)
    .bind(business)
    .bind(role.as_str())
    .bind(tx.now());
    tx.conn().execute(upsert).await?;
    Ok(())
}

/// The businesses the user belongs to, by name.
pub async fn memberships(mut db: impl Connection, user: UserId) -> Result<Vec<Membership>> {
    let select = Sql::new(
        "SELECT m.business_id, b.name AS business_name, m.role FROM memberships m
         JOIN businesses b ON b.id = m.business_id WHERE m.user_id = $1 ORDER BY b.name, m.business_id",
    )
    .bind(user);
    Ok(db.conn().fetch_all(select).await?)
}

/// Sets the password hash and ends every session the user had.
pub async fn set_password(tx: &mut Tx, user: UserId, password_hash: &str) -> Result<()> {
    let now = tx.now();
    let update = Sql::new(
        "UPDATE users SET password_hash = $1, sessions_valid_after = $2, updated_at = $2 WHERE id = $3",
    )
    .bind(password_hash)
    .bind(now)
    .bind(user);
    tx.conn().execute(update).await?;
    let ended = Sql::new("DELETE FROM sessions WHERE user_id = $1").bind(user);
    tx.conn().execute(ended).await?;
    Ok(())
}

/// What a single-use link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Sent to a new user (or printed on first start): sets their first password.
    Invitation,
    PasswordReset,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Invitation => "invitation",
            LinkPurpose::PasswordReset => "password_reset",
        }
    }
}

/// Records a link; the token itself is never stored.
pub async fn create_link(
    tx: &mut Tx,
    token: &SecretHash,
    user: UserId,
    purpose: LinkPurpose,
    expires_at: Timestamp,
) -> Result<()> {
    let insert = Sql::new(
        "INSERT INTO user_links (token_hash, user_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token.as_str())
    .bind(user)
    .bind(purpose.as_str())
    .bind(tx.now())
    .bind(expires_at);
    tx.conn().execute(insert).await?;
    Ok(())
}

/// Uses a link up: the user it was made for, when it exists, is unused and unexpired.
/// A second use of the same link finds nothing, on any node.
pub async fn use_link(tx: &mut Tx, token: &SecretHash) -> Result<Option<UserId>> {
    spend(tx, "user_links", "user_id", token).await
}

/// Marks a single-use link of `table` used, answering its `column` (an id) when the link
/// exists, was unused and has not expired: one statement, so a link is spent once on any node.
async fn spend<T: std::str::FromStr<Err = uuid::Error>>(
    tx: &mut Tx,
    table: &str,
    column: &str,
    token: &SecretHash,
) -> Result<Option<T>> {
    let now = tx.now();
    let used = Sql::new(format!(
        "UPDATE {table} SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
         RETURNING {column} AS value"
    ))
    .bind(now)
    .bind(token.as_str());
    parsed_id(tx.conn().fetch_optional(used).await?)
}

/// Records the first start's link for the business's first person (never the token).
pub async fn create_owner_link(
    tx: &mut Tx,
    token: &SecretHash,
    business: BusinessId,
    expires_at: Timestamp,
) -> Result<()> {
    let insert = Sql::new(
        "INSERT INTO owner_links (token_hash, business_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token.as_str())
    .bind(business)
    .bind(tx.now())
    .bind(expires_at);
    tx.conn().execute(insert).await?;
    Ok(())
}

/// Uses up the first start's link: its business, when it exists, is unused and unexpired.
pub async fn use_owner_link(tx: &mut Tx, token: &SecretHash) -> Result<Option<BusinessId>> {
    spend(tx, "owner_links", "business_id", token).await
}

/// A signed-in person's session, as every request reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub user_id: UserId,
    /// The person's name, read with the session for the pages' header.
    pub user_name: String,
    pub business_id: BusinessId,
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
}

impl FromRecord for Session {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(Session {
            user_id: row.parsed("user_id")?,
            user_name: row.text("user_name")?,
            business_id: row.parsed("business_id")?,
            csrf_token: row.text("csrf_token")?,
            created_at: row.time("created_at")?,
            last_seen_at: row.time("last_seen_at")?,
        })
    }
}

pub async fn start_session(tx: &mut Tx, token: &SecretHash, session: &Session) -> Result<()> {
    let insert = Sql::new(
        "INSERT INTO sessions (token_hash, user_id, business_id, csrf_token, created_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token.as_str())
    .bind(session.user_id)
    .bind(session.business_id)
    .bind(session.csrf_token.as_str())
    .bind(session.created_at)
    .bind(session.last_seen_at);
    tx.conn().execute(insert).await?;
    Ok(())
}

/// The session behind a token, unless the user's sessions were ended after it started.
pub async fn session(mut db: impl Connection, token: &SecretHash) -> Result<Option<Session>> {
    let select = Sql::new(
        "SELECT s.user_id, u.name AS user_name, s.business_id, s.csrf_token, s.created_at, s.last_seen_at FROM sessions s
         JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.created_at >= u.sessions_valid_after",
    )
    .bind(token.as_str())
    .on_unique_key();
    Ok(db.conn().fetch_optional(select).await?)
}

/// Notes activity on a session (callers do it at most once a minute) and which business
/// it is working in.
pub async fn touch_session(tx: &mut Tx, token: &SecretHash, business: BusinessId) -> Result<()> {
    let update = Sql::new("UPDATE sessions SET last_seen_at = $1, business_id = $2 WHERE token_hash = $3")
        .bind(tx.now())
        .bind(business)
        .bind(token.as_str());
    tx.conn().execute(update).await?;
    Ok(())
}

pub async fn end_session(tx: &mut Tx, token: &SecretHash) -> Result<()> {
    let delete = Sql::new("DELETE FROM sessions WHERE token_hash = $1").bind(token.as_str());
    tx.conn().execute(delete).await?;
    Ok(())
}

/// Counts a failed sign-in against `subject` (an account or an address), forgetting
/// failures too old to matter to anyone, so the table stays as small as the window.
pub async fn record_failure(
    tx: &mut Tx,
    subject: &str,
    at: Timestamp,
    forget_before: Timestamp,
) -> Result<()> {
    let forget = Sql::new("DELETE FROM sign_in_failures WHERE failed_at < $1").bind(forget_before);
    tx.conn().execute(forget).await?;
    let insert =
        Sql::new("INSERT INTO sign_in_failures (subject, failed_at) VALUES ($1, $2)").bind(subject).bind(at);
    tx.conn().execute(insert).await?;
    Ok(())
}

/// How many sign-ins failed against `subject` since `since`, and when the last did.
pub async fn recent_failures(
    mut db: impl Connection,
    subject: &str,
    since: Timestamp,
) -> Result<(i64, Option<Timestamp>)> {
    let select = Sql::new(
        "SELECT count(*) AS failures, max(failed_at) AS last FROM sign_in_failures WHERE subject = $1 AND failed_at >= $2",
    )
    .bind(subject)
    .bind(since);
    let counted =
        db.conn().fetch_all_with(select, |row| Ok((row.int("failures")?, row.opt_time("last")?))).await?;
    Ok(counted.into_iter().next().unwrap_or((0, None)))
}

/// Forgets the failures against `subject` (after it signed in).
pub async fn forget_failures(tx: &mut Tx, subject: &str) -> Result<()> {
    let delete = Sql::new("DELETE FROM sign_in_failures WHERE subject = $1").bind(subject);
    tx.conn().execute(delete).await?;
    Ok(())
}

/// Keeps a new (sealed) TOTP secret for the user, not yet on: two-factor stays as it was
/// until a code from it is confirmed.
pub async fn set_totp_secret(tx: &mut Tx, user: UserId, sealed: &str) -> Result<()> {
    let update =
        Sql::new("UPDATE users SET totp_secret = $1, totp_enabled_at = NULL, updated_at = $2 WHERE id = $3")
            .bind(sealed)
            .bind(tx.now())
            .bind(user);
    tx.conn().execute(update).await?;
    Ok(())
}

/// Turns two-factor on with the codes that can stand in for the authenticator (replacing
/// any earlier ones).
pub async fn enable_totp(tx: &mut Tx, user: UserId, recovery_codes: &[SecretHash]) -> Result<()> {
    let now = tx.now();
    let update =
        Sql::new("UPDATE users SET totp_enabled_at = $1, updated_at = $1 WHERE id = $2").bind(now).bind(user);
    tx.conn().execute(update).await?;
    tx.conn().execute(Sql::new("DELETE FROM recovery_codes WHERE user_id = $1").bind(user)).await?;
    for code in recovery_codes {
        let insert = Sql::new("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user)
            .bind(code.as_str());
        tx.conn().execute(insert).await?;
    }
    Ok(())
}

/// Accepts a code for `step` unless one for it (or a later step) was accepted already.
pub async fn accept_totp_step(tx: &mut Tx, user: UserId, step: i64) -> Result<bool> {
    let update = Sql::new(
        "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
    )
    .bind(step)
    .bind(user);
    Ok(tx.conn().execute(update).await? == 1)
}

/// Uses up a recovery code; whether it was the user's and unused.
pub async fn use_recovery_code(tx: &mut Tx, user: UserId, code: &SecretHash) -> Result<bool> {
    let update = Sql::new(
        "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
    )
    .bind(tx.now())
    .bind(user)
    .bind(code.as_str());
    Ok(tx.conn().execute(update).await? == 1)
}

/// Notes that the user gave the right password and must now give a code.
pub async fn start_second_factor_wait(tx: &mut Tx, token: &SecretHash, user: UserId) -> Result<()> {
    let insert =
        Sql::new("INSERT INTO second_factor_waits (token_hash, user_id, created_at) VALUES ($1, $2, $3)")
            .bind(token.as_str())
            .bind(user)
            .bind(tx.now());
    tx.conn().execute(insert).await?;
    Ok(())
}

/// The user waiting behind a token, if the wait began at or after `since`.
pub async fn second_factor_wait(
    mut db: impl Connection,
    token: &SecretHash,
    since: Timestamp,
) -> Result<Option<UserId>> {
    let select = Sql::new(
        "SELECT user_id AS value FROM second_factor_waits WHERE token_hash = $1 AND created_at >= $2",
    )
    .bind(token.as_str())
    .bind(since)
    .on_unique_key();
    parsed_id(db.conn().fetch_optional(select).await?)
}

/// Ends a wait (its code was given), and any older than `before`.
pub async fn end_second_factor_wait(tx: &mut Tx, token: &SecretHash, before: Timestamp) -> Result<()> {
    let delete = Sql::new("DELETE FROM second_factor_waits WHERE token_hash = $1 OR created_at < $2")
        .bind(token.as_str())
        .bind(before);
    tx.conn().execute(delete).await?;
    Ok(())
}

/// An id read back as `value`.
fn parsed_id<T: std::str::FromStr<Err = uuid::Error>>(value: Option<String>) -> Result<Option<T>> {
    value.map(|id| id.parse().map_err(|e: uuid::Error| crate::StoreError::Corrupt(e.to_string()))).transpose()
}

/// A person of a business, as its team page lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub user_id: UserId,
    pub name: String,
    pub email: Email,
    pub role: Role,
    /// Whether they have set a password (an invitation not yet taken up, otherwise).
    pub active: bool,
    pub two_factor: bool,
}

impl FromRecord for Member {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(Member {
            user_id: row.parsed("user_id")?,
            name: row.text("name")?,
            email: Email::from_stored(row.text("email")?),
            role: row.parsed("role")?,
            active: row.opt_text("password_hash")?.is_some(),
            two_factor: row.opt_time("totp_enabled_at")?.is_some(),
        })
    }
}

/// The business's people, by name (a team is small: at most `limit`).
pub async fn members(mut db: impl Connection, business: BusinessId, limit: u32) -> Result<Vec<Member>> {
    let select = Sql::new(format!(
        "SELECT u.id AS user_id, u.name, u.email, m.role, u.password_hash, u.totp_enabled_at
         FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.business_id = $1
         ORDER BY u.name, u.email LIMIT {limit}"
    ))
    .bind(business);
    Ok(db.conn().fetch_all(select).await?)
}
