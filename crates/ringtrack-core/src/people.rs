//! People who sign in to the web app: invitations by single-use link, passwords (Argon2id),
//! sign-in limited per account and per address with growing delays, and sessions kept in
//! the database so that any node serves any person.
//!
//! Hashing a password costs tens of milliseconds of CPU on purpose: it runs on a blocking
//! thread, and never inside a write transaction (which on SQLite would hold the one write
//! lock meanwhile).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use jiff::{SignedDuration, Timestamp};
use rand::RngCore;
use ringtrack_domain::people::{Email, Password, Token, totp};
use ringtrack_domain::secrets::Sealer;
use ringtrack_domain::validation::{FieldErrors, parse_name, parse_timezone};
use ringtrack_domain::{BusinessId, Role, UserId};
use ringtrack_store::people::{self, LinkPurpose, Membership, Session, User};
use ringtrack_store::{Store, StoreError, Tx};

/// How long an invitation link works.
pub const INVITATION_LIFETIME: SignedDuration = SignedDuration::from_hours(7 * 24);
/// A session unused this long is over.
pub const SESSION_IDLE: SignedDuration = SignedDuration::from_hours(7 * 24);
/// A session is over this long after sign-in, however busy.
pub const SESSION_ABSOLUTE: SignedDuration = SignedDuration::from_hours(30 * 24);
/// A session's last activity is written at most this often.
const TOUCH_EVERY: SignedDuration = SignedDuration::from_secs(60);

/// Failed sign-ins counted over this window, per account and per address.
const FAILURE_WINDOW: SignedDuration = SignedDuration::from_mins(15);
/// Failures allowed in the window before each further attempt must wait.
const FREE_FAILURES: i64 = 3;
/// The longest wait between attempts; it doubles from two seconds up to this.
const MAX_WAIT: SignedDuration = SignedDuration::from_mins(15);

#[derive(Debug, thiserror::Error)]
pub enum PeopleError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no such business")]
    NoSuchBusiness,
}

/// A person invited to a business.
#[derive(Debug)]
pub struct Invited {
    pub user_id: UserId,
    /// The link that sets their first password; `None` when they already have one (they
    /// sign in as before and find the business in their switcher).
    pub link: Option<Token>,
}

/// Invites `email` to the business with `role`: a new user with a link that sets their
/// password, or an existing one given the business. With `password`, the person can sign
/// in at once and no link is made.
pub async fn invite(
    store: &Store,
    business: BusinessId,
    email: &Email,
    name: &str,
    role: Role,
    password: Option<&Password>,
) -> Result<Invited, PeopleError> {
    let password_hash = match password {
        Some(password) => Some(hash(password.clone()).await),
        None => None,
    };
    let mut tx = store.begin().await?;
    if !ringtrack_store::businesses::lock(&mut tx, business).await? {
        return Err(PeopleError::NoSuchBusiness);
    }
    let user = match people::create(&mut tx, email, name).await? {
        Some(user) => user,
        None => people::by_email(&mut tx, email)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a user vanished".into()))?,
    };
    people::add_membership(&mut tx, user.id, business, role).await?;
    let link = match (&password_hash, &user.password_hash) {
        (Some(hash), _) => {
            people::set_password(&mut tx, user.id, hash).await?;
            None
        }
        (None, Some(_)) => None,
        (None, None) => {
            let token = Token::generate();
            let expires = tx.now() + INVITATION_LIFETIME;
            people::create_link(&mut tx, &token.hash(), user.id, LinkPurpose::Invitation, expires).await?;
            Some(token)
        }
    };
    tx.commit().await?;
    Ok(Invited { user_id: user.id, link })
}

/// How long the link `serve` prints on its first start works.
pub const OWNER_LINK_LIFETIME: SignedDuration = SignedDuration::from_hours(7 * 24);

/// The first start's link, made in the transaction that makes the first business: whoever
/// opens it becomes that business's first person, an admin.
pub async fn owner_link(tx: &mut Tx, business: BusinessId) -> Result<Token, StoreError> {
    let token = Token::generate();
    let expires = tx.now() + OWNER_LINK_LIFETIME;
    people::create_owner_link(tx, &token.hash(), business, expires).await?;
    Ok(token)
}

#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("this link has expired or was used already")]
    Spent,
    #[error("someone already has this email address")]
    EmailTaken,
}

/// Uses the first start's link: a new person with this password, admin of its business.
pub async fn claim_owner_link(
    store: &Store,
    link: &Token,
    email: &Email,
    name: &str,
    password: &Password,
) -> Result<UserId, ClaimError> {
    let hashed = hash(password.clone()).await;
    let mut tx = store.begin().await?;
    let business = people::use_owner_link(&mut tx, &link.hash()).await?.ok_or(ClaimError::Spent)?;
    let user = people::create(&mut tx, email, name).await?.ok_or(ClaimError::EmailTaken)?;
    people::add_membership(&mut tx, user.id, business, Role::Admin).await?;
    people::set_password(&mut tx, user.id, &hashed).await?;
    tx.commit().await?;
    Ok(user.id)
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Unknown, used already or expired: the same answer for each.
    #[error("this link has expired or was used already")]
    Spent,
}

/// Sets a password through a link, which is then spent; every session the user had ends.
pub async fn set_password_by_link(
    store: &Store,
    link: &Token,
    password: &Password,
) -> Result<UserId, LinkError> {
    let hashed = hash(password.clone()).await;
    let mut tx = store.begin().await?;
    let user = people::use_link(&mut tx, &link.hash()).await?.ok_or(LinkError::Spent)?;
    people::set_password(&mut tx, user, &hashed).await?;
    tx.commit().await?;
    Ok(user)
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Unknown address or wrong password: the same answer for each.
    #[error("the email or password is not right")]
    Refused,
    /// Too many failures lately, for this account or from this address.
    #[error("too many attempts; try again in {} seconds", retry_after.as_secs())]
    TooManyAttempts { retry_after: SignedDuration },
    /// The person belongs to no business (any more).
    #[error("this account has no business to work in")]
    NoBusiness,
}

/// A person signed in: the token for their cookie and the session it stands for.
#[derive(Debug)]
pub struct SignedIn {
    pub token: Token,
    pub session: Session,
    pub user: User,
}

/// Where a right password leads.
#[derive(Debug)]
pub enum SignIn {
    Done(Box<SignedIn>),
    /// Two-factor is on: the code comes next, with this token (for [`SECOND_FACTOR_WAIT`]).
    SecondFactor {
        wait: Token,
    },
}

/// How long a right password waits for its code.
pub const SECOND_FACTOR_WAIT: SignedDuration = SignedDuration::from_mins(5);

/// Checks an email and password from `address` and starts a session in the person's
/// first business, or, with two-factor on, waits for their code. Refusals are counted per
/// account and per address; past a few, each further attempt waits twice as long as the
/// one before.
pub async fn sign_in(
    store: &Store,
    email: &Email,
    password: &Password,
    address: &str,
) -> Result<SignIn, SignInError> {
    let subjects = attempt_subjects(email, address);
    check_attempts(store, &subjects).await?;
    let user = people::by_email(store, email).await?;
    // An unknown address costs the same hashing as a wrong password: timing tells nothing.
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let matches = verify(stored, password.clone()).await;
    let Some(user) = user.filter(|_| matches) else {
        return Err(refused(store, &subjects).await);
    };
    if user.totp_enabled_at.is_some() {
        let wait = Token::generate();
        let mut tx = store.begin().await?;
        people::start_second_factor_wait(&mut tx, &wait.hash(), user.id).await?;
        tx.commit().await?;
        return Ok(SignIn::SecondFactor { wait });
    }
    Ok(SignIn::Done(Box::new(start_session(store, user, &subjects, None).await?)))
}

/// The code after a right password: six digits from the authenticator (each accepted once)
/// or one of the recovery codes (each used once). Refusals count as failed sign-ins.
pub async fn second_factor(
    store: &Store,
    sealer: &Sealer,
    wait: &Token,
    code: &str,
    address: &str,
) -> Result<SignedIn, SignInError> {
    let now = store.now();
    let user = match people::second_factor_wait(store, &wait.hash(), now - SECOND_FACTOR_WAIT).await? {
        Some(user) => people::by_id(store, user).await?,
        None => None,
    };
    let Some(user) = user else { return Err(SignInError::Refused) };
    let subjects = attempt_subjects(&user.email, address);
    check_attempts(store, &subjects).await?;
    let mut tx = store.begin().await?;
    let accepted = match totp::matching_step(&secret_of(sealer, &user)?, code, now.as_second()) {
        Some(step) => people::accept_totp_step(&mut tx, user.id, step).await?,
        None => match totp::recovery_code_hash(code) {
            Some(hash) => people::use_recovery_code(&mut tx, user.id, &hash).await?,
            None => false,
        },
    };
    tx.commit().await?;
    if !accepted {
        return Err(refused(store, &subjects).await);
    }
    start_session(store, user, &subjects, Some(wait)).await
}

/// What failed attempts are counted against: the account and the address.
fn attempt_subjects(email: &Email, address: &str) -> [String; 2] {
    [format!("account:{email}"), format!("address:{address}")]
}

async fn check_attempts(store: &Store, subjects: &[String; 2]) -> Result<(), SignInError> {
    match attempts_wait(store, subjects).await? {
        Some(retry_after) => Err(SignInError::TooManyAttempts { retry_after }),
        None => Ok(()),
    }
}

/// How long the longest-waiting of `subjects` must still wait before another attempt.
pub(crate) async fn attempts_wait(
    store: &Store,
    subjects: &[String; 2],
) -> Result<Option<SignedDuration>, StoreError> {
    let now = store.now();
    let mut longest = None;
    for subject in subjects {
        longest = longest.max(wait_before_attempt(store, subject, now).await?);
    }
    Ok(longest)
}

/// Counts an attempt (a refusal, or a request that is limited like one) against each subject.
pub(crate) async fn count_attempt(store: &Store, subjects: &[String; 2]) -> Result<(), StoreError> {
    let now = store.now();
    let mut tx = store.begin().await?;
    for subject in subjects {
        people::record_failure(&mut tx, subject, now, now - FAILURE_WINDOW).await?;
    }
    tx.commit().await
}

/// Counts a refusal against each subject and answers it.
async fn refused(store: &Store, subjects: &[String; 2]) -> SignInError {
    match count_attempt(store, subjects).await {
        Ok(()) => SignInError::Refused,
        Err(error) => SignInError::Store(error),
    }
}

/// Starts a session in the person's first business, clearing the account's failures and
/// the wait for a second factor that led here.
async fn start_session(
    store: &Store,
    user: User,
    subjects: &[String; 2],
    wait: Option<&Token>,
) -> Result<SignedIn, SignInError> {
    let now = store.now();
    let memberships = people::memberships(store, user.id).await?;
    let business = memberships.first().ok_or(SignInError::NoBusiness)?.business_id;
    let token = Token::generate();
    let session = Session {
        user_id: user.id,
        user_name: user.name.clone(),
        business_id: business,
        csrf_token: Token::generate().expose().to_owned(),
        created_at: now,
        last_seen_at: now,
    };
    let mut tx = store.begin().await?;
    people::forget_failures(&mut tx, &subjects[0]).await?;
    if let Some(wait) = wait {
        people::end_second_factor_wait(&mut tx, &wait.hash(), now - SECOND_FACTOR_WAIT).await?;
    }
    people::start_session(&mut tx, &token.hash(), &session).await?;
    tx.commit().await?;
    Ok(SignedIn { token, session, user })
}

/// Two-factor being set up: what the authenticator app is given.
#[derive(Debug)]
pub struct TwoFactorSetup {
    /// The secret in base32, for typing in.
    pub secret: String,
    /// The `otpauth://` address, for a QR code or a tap on a phone.
    pub uri: String,
}

/// Gives the user a new authenticator secret, kept sealed; two-factor stays as it was
/// until [`enable_two_factor`] confirms a code from it.
pub async fn begin_two_factor(
    store: &Store,
    sealer: &Sealer,
    user: &User,
) -> Result<TwoFactorSetup, StoreError> {
    let secret = totp::generate_secret();
    let encoded = totp::base32(&secret);
    let mut tx = store.begin().await?;
    people::set_totp_secret(&mut tx, user.id, &sealer.seal(&encoded)).await?;
    tx.commit().await?;
    Ok(TwoFactorSetup {
        uri: totp::provisioning_uri(&secret, "ringtrack", user.email.as_str()),
        secret: encoded,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum TwoFactorError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("that code is not the one the authenticator shows now")]
    WrongCode,
}

/// Turns two-factor on once a code from the new secret checks out; answers the recovery
/// codes, shown this once and kept only as hashes.
pub async fn enable_two_factor(
    store: &Store,
    sealer: &Sealer,
    user: UserId,
    code: &str,
) -> Result<Vec<String>, TwoFactorError> {
    let user = people::by_id(store, user).await?.ok_or_else(|| StoreError::Corrupt("no such user".into()))?;
    let step = totp::matching_step(&secret_of(sealer, &user)?, code, store.now().as_second())
        .ok_or(TwoFactorError::WrongCode)?;
    let codes = totp::generate_recovery_codes();
    let hashes: Vec<_> = codes.iter().filter_map(|code| totp::recovery_code_hash(code)).collect();
    let mut tx = store.begin().await?;
    if !people::accept_totp_step(&mut tx, user.id, step).await? {
        return Err(TwoFactorError::WrongCode);
    }
    people::enable_totp(&mut tx, user.id, &hashes).await?;
    tx.commit().await?;
    Ok(codes)
}

/// The user's authenticator secret, opened; empty (matching no code) when there is none.
fn secret_of(sealer: &Sealer, user: &User) -> Result<Vec<u8>, StoreError> {
    let Some(sealed) = &user.totp_secret else { return Ok(Vec::new()) };
    let encoded = sealer.open(sealed).map_err(|e| StoreError::Corrupt(format!("a TOTP secret: {e}")))?;
    totp::from_base32(&encoded).ok_or_else(|| StoreError::Corrupt("a TOTP secret is not base32".into()))
}

/// How long `subject` must still wait before another attempt, if at all.
async fn wait_before_attempt(
    store: &Store,
    subject: &str,
    now: Timestamp,
) -> Result<Option<SignedDuration>, StoreError> {
    let (failures, last) = people::recent_failures(store, subject, now - FAILURE_WINDOW).await?;
    let Some(last) = last else { return Ok(None) };
    let over = failures - FREE_FAILURES;
    if over <= 0 {
        return Ok(None);
    }
    let wait = SignedDuration::from_secs(1i64 << over.min(20)).min(MAX_WAIT);
    let ready_at = last + wait;
    Ok((ready_at > now).then(|| ready_at.duration_since(now)))
}

/// A session that is on: who, in which business, and the other businesses they may switch to.
#[derive(Debug)]
pub struct Current {
    pub session: Session,
    /// The business the session works in, and the person's role there.
    pub membership: Membership,
    /// Every business the person belongs to, by name.
    pub memberships: Vec<Membership>,
}

/// The person and business behind a session cookie, if the session is still on: not
/// ended, not idle too long, not too old. Its activity is noted at most once a minute.
pub async fn session(store: &Store, token: &Token) -> Result<Option<Current>, StoreError> {
    let hash = token.hash();
    let Some(session) = people::session(store, &hash).await? else { return Ok(None) };
    let now = store.now();
    if now.duration_since(session.last_seen_at) > SESSION_IDLE
        || now.duration_since(session.created_at) > SESSION_ABSOLUTE
    {
        return Ok(None);
    }
    let memberships = people::memberships(store, session.user_id).await?;
    let Some(membership) = memberships.iter().find(|m| m.business_id == session.business_id).cloned() else {
        return Ok(None);
    };
    if now.duration_since(session.last_seen_at) >= TOUCH_EVERY {
        let mut tx = store.begin().await?;
        people::touch_session(&mut tx, &hash, session.business_id).await?;
        tx.commit().await?;
    }
    Ok(Some(Current { session, membership, memberships }))
}

/// Moves a session to another of the person's businesses; `false` when they do not
/// belong to it.
pub async fn switch_business(
    store: &Store,
    token: &Token,
    current: &Current,
    to: BusinessId,
) -> Result<bool, StoreError> {
    if !current.memberships.iter().any(|m| m.business_id == to) {
        return Ok(false);
    }
    let mut tx = store.begin().await?;
    people::touch_session(&mut tx, &token.hash(), to).await?;
    tx.commit().await?;
    Ok(true)
}

/// Why a new business was not made.
#[derive(Debug, thiserror::Error)]
pub enum NewBusinessError {
    /// Only an admin of the business they are working in makes new ones.
    #[error("only an admin can add a business")]
    NotAdmin,
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An agency's new client business, with the admin who made it as its admin; the session
/// moves to it.
pub async fn add_business(
    store: &Store,
    token: &Token,
    current: &Current,
    name: &str,
    timezone: &str,
) -> Result<BusinessId, NewBusinessError> {
    if current.membership.role != Role::Admin {
        return Err(NewBusinessError::NotAdmin);
    }
    let mut errors = FieldErrors::new();
    let name = errors.take(parse_name("name", name, 200));
    let timezone = errors.take(parse_timezone("timezone", timezone));
    let (Some(name), Some(timezone)) = (name, timezone) else {
        return Err(NewBusinessError::Invalid(errors));
    };
    let mut tx = store.begin().await?;
    let business = ringtrack_store::businesses::create(&mut tx, &name, &timezone).await?;
    people::add_membership(&mut tx, current.session.user_id, business.id, Role::Admin).await?;
    people::touch_session(&mut tx, &token.hash(), business.id).await?;
    tx.commit().await?;
    Ok(business.id)
}

pub async fn sign_out(store: &Store, token: &Token) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    people::end_session(&mut tx, &token.hash()).await?;
    tx.commit().await
}

/// Argon2id with its default (OWASP-recommended) cost, on a blocking thread.
async fn hash(password: Password) -> String {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .expect("Argon2 hashes any password")
            .to_string()
    })
    .await
    .expect("hashing does not panic")
}

/// Whether `password` matches `stored`; with nothing stored, a hash is still computed.
async fn verify(stored: Option<String>, password: Password) -> bool {
    tokio::task::spawn_blocking(move || {
        let Some(stored) = stored else {
            let _ = Argon2::default().hash_password(
                password.expose().as_bytes(),
                &SaltString::encode_b64(&[0; 16]).expect("a valid salt"),
            );
            return false;
        };
        PasswordHash::new(&stored).is_ok_and(|parsed| {
            Argon2::default().verify_password(password.expose().as_bytes(), &parsed).is_ok()
        })
    })
    .await
    .expect("verifying does not panic")
}
