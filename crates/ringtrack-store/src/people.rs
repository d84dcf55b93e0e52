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
    /// The business whose admin was shown the link that set the password (they may know
    /// it): another business is joined only through its own invitation link.
    pub password_link_business_id: Option<BusinessId>,
    pub created_at: Timestamp,
}

const COLUMNS: &str = "id, email, name, password_hash, totp_secret, totp_enabled_at, totp_last_step, \
    sessions_valid_after, password_link_business_id, created_at";

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
            password_link_business_id: row.opt_parsed("password_link_business_id")?,
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
        password_link_business_id: None,
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

/// The business the user worked in last (or joined first, if they never worked in one).
pub async fn last_used_business(mut db: impl Connection, user: UserId) -> Result<Option<BusinessId>> {
    let select = Sql::new(
        "SELECT business_id AS value FROM memberships WHERE user_id = $1
         ORDER BY COALESCE(last_used_at, 0) DESC, created_at, business_id LIMIT 1",
    )
    .bind(user);
    parsed_id(db.conn().fetch_optional(select).await?)
}

/// Sets the password hash, spends every link that could set it again and ends every
/// session the user had. `via_business`: the business whose shown link set it.
pub async fn set_password(
    tx: &mut Tx,
    user: UserId,
    password_hash: &str,
    via_business: Option<BusinessId>,
) -> Result<()> {
    let now = tx.now();
    let update = Sql::new(
        "UPDATE users SET password_hash = $1, password_link_business_id = $2, sessions_valid_after = $3,
            updated_at = $3 WHERE id = $4",
    )
    .bind(password_hash)
    .bind(via_business)
    .bind(now)
    .bind(user);
    tx.conn().execute(update).await?;
    let spent = Sql::new("UPDATE user_links SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
        .bind(now)
        .bind(user);
    tx.conn().execute(spent).await?;
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

impl std::str::FromStr for LinkPurpose {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "invitation" => Ok(LinkPurpose::Invitation),
            "password_reset" => Ok(LinkPurpose::PasswordReset),
            other => Err(format!("unknown link purpose {other:?}")),
        }
    }
}

/// A link that sets a password, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub user_id: UserId,
    pub purpose: LinkPurpose,
    /// The business whose admin was shown it (`None` once it went by email).
    pub business_id: Option<BusinessId>,
}

impl FromRecord for Link {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(Link {
            user_id: row.parsed("user_id")?,
            purpose: row.parsed("purpose")?,
            business_id: row.opt_parsed("business_id")?,
        })
    }
}

/// Records a link; the token itself is never stored. `business`: whose invitation it is.
pub async fn create_link(
    tx: &mut Tx,
    token: &SecretHash,
    user: UserId,
    purpose: LinkPurpose,
    business: Option<BusinessId>,
    expires_at: Timestamp,
) -> Result<()> {
    let insert = Sql::new(
        "INSERT INTO user_links (token_hash, user_id, purpose, business_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token.as_str())
    .bind(user)
    .bind(purpose.as_str())
    .bind(business)
    .bind(tx.now())
    .bind(expires_at);
    tx.conn().execute(insert).await?;
    Ok(())
}

/// Notes that a link went to the person by email: whoever uses it read their mail, so the
/// password it sets is not one an admin was shown.
pub async fn link_emailed(tx: &mut Tx, token: &SecretHash) -> Result<()> {
    let update =
        Sql::new("UPDATE user_links SET business_id = NULL WHERE token_hash = $1").bind(token.as_str());
    tx.conn().execute(update).await?;
    Ok(())
}

/// A link that still works (unused, unexpired), read without spending it.
pub async fn link(mut db: impl Connection, token: &SecretHash, now: Timestamp) -> Result<Option<Link>> {
    let select = Sql::new(
        "SELECT user_id, purpose, business_id FROM user_links WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(token.as_str())
    .bind(now)
    .on_unique_key();
    Ok(db.conn().fetch_optional(select).await?)
}

/// Uses a link up: what it was made for, when it exists, is unused and unexpired. A second
/// use of the same link finds nothing, on any node.
pub async fn use_link(tx: &mut Tx, token: &SecretHash) -> Result<Option<Link>> {
    let now = tx.now();
    let used = Sql::new(
        "UPDATE user_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
         RETURNING user_id, purpose, business_id",
    )
    .bind(now)
    .bind(token.as_str());
    Ok(tx.conn().fetch_optional(used).await?)
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
    let now = tx.now();
    let used = Sql::new(
        "UPDATE owner_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
         RETURNING business_id AS value",
    )
    .bind(now)
    .bind(token.as_str());
    parsed_id(tx.conn().fetch_optional(used).await?)
}

/// Whether the first start's link still works, read without spending it.
pub async fn owner_link_open(mut db: impl Connection, token: &SecretHash, now: Timestamp) -> Result<bool> {
    let select = Sql::new(
        "SELECT 1 AS value FROM owner_links WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(token.as_str())
    .bind(now)
    .on_unique_key();
    Ok(db.conn().fetch_optional::<i64>(select).await?.is_some())
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
    let used = Sql::new(
        "UPDATE memberships SET last_used_at = $1
         WHERE business_id = $2 AND user_id = (SELECT user_id FROM sessions WHERE token_hash = $3)",
    )
    .bind(tx.now())
    .bind(business)
    .bind(token.as_str());
    tx.conn().execute(used).await?;
    Ok(())
}

/// Ends every session of the user.
pub async fn end_sessions(tx: &mut Tx, user: UserId) -> Result<()> {
    tx.conn().execute(Sql::new("DELETE FROM sessions WHERE user_id = $1").bind(user)).await?;
    Ok(())
}

/// Ends every session of the user but `keep` (after a change to how they sign in).
pub async fn end_other_sessions(tx: &mut Tx, user: UserId, keep: &SecretHash) -> Result<()> {
    let delete = Sql::new("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
        .bind(user)
        .bind(keep.as_str());
    tx.conn().execute(delete).await?;
    Ok(())
}

/// Deletes sessions unused since `idle_before` or started before `started_before`, waits
/// for a code older than `waits_before` and links expired before `links_before`: what no
/// one can use any more (a timed pass). Answers how many rows went.
pub async fn purge_expired(
    tx: &mut Tx,
    idle_before: Timestamp,
    started_before: Timestamp,
    waits_before: Timestamp,
    links_before: Timestamp,
) -> Result<u64> {
    let mut purged = 0;
    let sessions = Sql::new("DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2")
        .bind(idle_before)
        .bind(started_before);
    purged += tx.conn().execute(sessions).await?;
    let waits = Sql::new("DELETE FROM second_factor_waits WHERE created_at < $1").bind(waits_before);
    purged += tx.conn().execute(waits).await?;
    let links = Sql::new("DELETE FROM user_links WHERE expires_at < $1").bind(links_before);
    purged += tx.conn().execute(links).await?;
    Ok(purged)
}

pub async fn end_session(tx: &mut Tx, token: &SecretHash) -> Result<()> {
    let delete = Sql::new("DELETE FROM sessions WHERE token_hash = $1").bind(token.as_str());
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
    replace_recovery_codes(tx, user, recovery_codes).await
}

/// Turns two-factor off: the secret and the recovery codes are forgotten.
pub async fn disable_totp(tx: &mut Tx, user: UserId) -> Result<()> {
    let update = Sql::new(
        "UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL, updated_at = $1
         WHERE id = $2",
    )
    .bind(tx.now())
    .bind(user);
    tx.conn().execute(update).await?;
    tx.conn().execute(Sql::new("DELETE FROM recovery_codes WHERE user_id = $1").bind(user)).await?;
    Ok(())
}

/// The user's recovery codes, these and no others.
pub async fn replace_recovery_codes(tx: &mut Tx, user: UserId, recovery_codes: &[SecretHash]) -> Result<()> {
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

/// An invitation to a business that the person answers while signed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    pub business_id: BusinessId,
    pub business_name: String,
    pub user_id: UserId,
    pub role: Role,
    pub invited_by: String,
    pub created_at: Timestamp,
}

impl FromRecord for Invitation {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(Invitation {
            business_id: row.parsed("business_id")?,
            business_name: row.text("business_name")?,
            user_id: row.parsed("user_id")?,
            role: row.parsed("role")?,
            invited_by: row.text("invited_by")?,
            created_at: row.time("created_at")?,
        })
    }
}

const INVITATION_COLUMNS: &str =
    "i.business_id, b.name AS business_name, i.user_id, i.role, i.invited_by, i.created_at";

/// Records an invitation of `business` for `user` with `role` (the token is never stored);
/// `invited_by` names the inviter for the person to read.
pub async fn create_invitation(
    tx: &mut Tx,
    token: &SecretHash,
    business: BusinessId,
    user: UserId,
    role: Role,
    invited_by: &str,
    expires_at: Timestamp,
) -> Result<()> {
    let insert = Sql::new(
        "INSERT INTO invitations (token_hash, business_id, user_id, role, invited_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(token.as_str())
    .bind(business)
    .bind(user)
    .bind(role.as_str())
    .bind(invited_by)
    .bind(tx.now())
    .bind(expires_at);
    tx.conn().execute(insert).await?;
    Ok(())
}

/// The unanswered, unexpired invitation behind a link.
pub async fn invitation_by_token(
    mut db: impl Connection,
    token: &SecretHash,
    now: Timestamp,
) -> Result<Option<Invitation>> {
    let select = Sql::new(format!(
        "SELECT {INVITATION_COLUMNS} FROM invitations i JOIN businesses b ON b.id = i.business_id
         WHERE i.token_hash = $1 AND i.answered_at IS NULL AND i.expires_at > $2"
    ))
    .bind(token.as_str())
    .bind(now)
    .on_unique_key();
    Ok(db.conn().fetch_optional(select).await?)
}

/// The person's unanswered, unexpired invitations, newest first, one per business.
pub async fn pending_invitations(
    mut db: impl Connection,
    user: UserId,
    now: Timestamp,
) -> Result<Vec<Invitation>> {
    let select = Sql::new(format!(
        "SELECT {INVITATION_COLUMNS} FROM invitations i JOIN businesses b ON b.id = i.business_id
         WHERE i.user_id = $1 AND i.answered_at IS NULL AND i.expires_at > $2
           AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = i.user_id AND m.business_id = i.business_id)
         ORDER BY i.created_at DESC LIMIT 100"
    ))
    .bind(user)
    .bind(now);
    let mut invitations: Vec<Invitation> = db.conn().fetch_all(select).await?;
    let mut seen = std::collections::HashSet::new();
    invitations.retain(|i| seen.insert(i.business_id));
    Ok(invitations)
}

/// An invitation of the business's that no one has answered yet, as its team page lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    pub user_id: UserId,
    pub email: Email,
    pub role: Role,
    pub invited_by: String,
    pub expires_at: Timestamp,
}

impl FromRecord for Waiting {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(Waiting {
            user_id: row.parsed("user_id")?,
            email: Email::from_stored(row.text("email")?),
            role: row.parsed("role")?,
            invited_by: row.text("invited_by")?,
            expires_at: row.time("expires_at")?,
        })
    }
}

/// The business's invitations still open, the newest for each person, newest first (at
/// most `limit`).
pub async fn waiting_invitations(
    mut db: impl Connection,
    business: BusinessId,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<Waiting>> {
    let select = Sql::new(format!(
        "SELECT i.user_id, u.email, i.role, i.invited_by, i.expires_at FROM invitations i
         JOIN users u ON u.id = i.user_id
         WHERE i.business_id = $1 AND i.answered_at IS NULL AND i.expires_at > $2
           AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = i.user_id AND m.business_id = i.business_id)
         ORDER BY i.created_at DESC LIMIT {limit}"
    ))
    .bind(business)
    .bind(now);
    let mut waiting: Vec<Waiting> = db.conn().fetch_all(select).await?;
    let mut seen = std::collections::HashSet::new();
    waiting.retain(|w| seen.insert(w.user_id));
    Ok(waiting)
}

/// Answers every open invitation of the person to the business (accepted, declined, or
/// withdrawn by the business);
/// answers the newest one's role, if there was any.
pub async fn answer_invitations(tx: &mut Tx, user: UserId, business: BusinessId) -> Result<Option<Role>> {
    let now = tx.now();
    let newest = Sql::new(
        "SELECT role AS value FROM invitations WHERE user_id = $1 AND business_id = $2 AND answered_at IS NULL
           AND expires_at > $3 ORDER BY created_at DESC LIMIT 1",
    )
    .bind(user)
    .bind(business)
    .bind(now);
    let role = tx.conn().fetch_optional::<String>(newest).await?;
    let answered = Sql::new(
        "UPDATE invitations SET answered_at = $1 WHERE user_id = $2 AND business_id = $3 AND answered_at IS NULL",
    )
    .bind(now)
    .bind(user)
    .bind(business);
    tx.conn().execute(answered).await?;
    role.map(|r| r.parse().map_err(|_| crate::StoreError::Corrupt(format!("an unknown role {r:?}"))))
        .transpose()
}
