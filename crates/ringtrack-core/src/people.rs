//! People who sign in to the web app: invitations by single-use link, passwords (Argon2id),
//! sign-in limited per account and per address with growing delays, and sessions kept in
//! the database so that any node serves any person.
//!
//! Hashing a password costs tens of milliseconds of CPU on purpose: it runs on a blocking
//! thread, and never inside a write transaction (which on SQLite would hold the one write
//! lock meanwhile).

use jiff::SignedDuration;
use ringtrack_domain::people::{Email, Password, Token, totp};
use ringtrack_domain::secrets::Sealer;
use ringtrack_domain::validation::{FieldErrors, parse_name, parse_timezone};
use ringtrack_domain::{BusinessId, Role, UserId};
use ringtrack_store::people::{self, LinkPurpose, Membership, Session, User};
use ringtrack_store::{Store, StoreError, Tx};

use crate::hashing::{self, Busy};
use crate::limits::{self, Subject, TooSoon};

/// How long an invitation link works.
pub const INVITATION_LIFETIME: SignedDuration = SignedDuration::from_hours(7 * 24);
/// A session unused this long is over.
pub const SESSION_IDLE: SignedDuration = SignedDuration::from_hours(7 * 24);
/// A session is over this long after sign-in, however busy.
pub const SESSION_ABSOLUTE: SignedDuration = SignedDuration::from_hours(30 * 24);
/// A session's last activity is written at most this often.
const TOUCH_EVERY: SignedDuration = SignedDuration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum PeopleError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no such business")]
    NoSuchBusiness,
    #[error(transparent)]
    Busy(#[from] Busy),
}

/// What an invitation made.
#[derive(Debug)]
pub enum Invited {
    /// A new person (or one a link of this business made, who has not set a password yet):
    /// this link sets their first password and opens this business.
    PasswordLink(Token),
    /// Someone with an account, or whose account another business made: this link, opened
    /// while signed in, lets them join (or decline). No password is ever set through it.
    Invitation(Token),
    /// The person is a member already (their role is now `role`), or the operator gave a
    /// password: nothing to pass on.
    Added,
}

impl Invited {
    /// The link that sets a new person's password, if that is what was made.
    pub fn password_link(self) -> Option<Token> {
        match self {
            Invited::PasswordLink(link) => Some(link),
            Invited::Invitation(_) | Invited::Added => None,
        }
    }
}

/// A person invited to a business.
#[derive(Debug)]
pub struct Invitation {
    pub user_id: UserId,
    pub invited: Invited,
}

/// Invites `email` to the business with `role`, `invited_by` naming who asks. A new
/// account gets a link that sets its password; an account that exists (or that another
/// business's link made) is never given one by this business: the person is asked, and
/// joins while signed in. With `password` (the operator's command line), the person is a
/// member at once with that password and no link is made.
pub async fn invite(
    store: &Store,
    business: BusinessId,
    email: &Email,
    name: &str,
    role: Role,
    password: Option<&Password>,
    invited_by: &str,
) -> Result<Invitation, PeopleError> {
    let password_hash = match password {
        Some(password) => Some(hashing::hash(password.clone()).await?),
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
    let memberships = people::memberships(&mut tx, user.id).await?;
    let member_here = memberships.iter().any(|m| m.business_id == business);
    let invited = if let Some(hash) = &password_hash {
        people::add_membership(&mut tx, user.id, business, role).await?;
        people::set_password(&mut tx, user.id, hash, None).await?;
        Invited::Added
    } else if user.password_hash.is_none() && memberships.iter().all(|m| m.business_id == business) {
        people::add_membership(&mut tx, user.id, business, role).await?;
        let token = Token::generate();
        let expires = tx.now() + INVITATION_LIFETIME;
        people::create_link(
            &mut tx,
            &token.hash(),
            user.id,
            LinkPurpose::Invitation,
            Some(business),
            expires,
        )
        .await?;
        Invited::PasswordLink(token)
    } else if member_here {
        people::add_membership(&mut tx, user.id, business, role).await?;
        Invited::Added
    } else {
        let token = Token::generate();
        let expires = tx.now() + INVITATION_LIFETIME;
        people::create_invitation(&mut tx, &token.hash(), business, user.id, role, invited_by, expires)
            .await?;
        Invited::Invitation(token)
    };
    tx.commit().await?;
    Ok(Invitation { user_id: user.id, invited })
}

/// Notes that a password link went by email (whoever uses it read the person's mail).
pub async fn link_emailed(store: &Store, link: &Token) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    people::link_emailed(&mut tx, &link.hash()).await?;
    tx.commit().await
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

/// Why a link did not set a password.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Unknown, used already, expired, or an invitation for an account that has a
    /// password: the same answer for each.
    #[error("this link has expired or was used already")]
    Spent,
    /// Too many links tried from this address lately.
    #[error("too many attempts; try again in {} seconds", retry_after.as_secs())]
    TooManyAttempts { retry_after: SignedDuration },
    #[error(transparent)]
    Busy(#[from] Busy),
    /// The first start's link only: the address has an account already.
    #[error("someone already has this email address")]
    EmailTaken,
}

/// Takes a slot for a link tried from `address`.
async fn link_attempt(store: &Store, address: &str) -> Result<Vec<Subject>, LinkError> {
    let subjects = vec![Subject::links_from(address)];
    match limits::take(store, &subjects).await? {
        Ok(()) => Ok(subjects),
        Err(TooSoon { retry_after }) => {
            tracing::warn!("too many password links tried from one address");
            Err(LinkError::TooManyAttempts { retry_after })
        }
    }
}

/// The outcome of hashing for an attempt that took `subjects`' slots: when the node was too
/// busy to hash, the attempt was not made, so its slots are given back.
async fn unless_busy<T, E: From<Busy> + From<StoreError>>(
    store: &Store,
    subjects: &[Subject],
    hashed: Result<T, Busy>,
) -> Result<T, E> {
    match hashed {
        Ok(value) => Ok(value),
        Err(busy) => {
            limits::not_made(store, subjects).await?;
            Err(busy.into())
        }
    }
}

/// Uses the first start's link: a new person with this password, admin of its business.
/// The link is looked up before any hashing.
pub async fn claim_owner_link(
    store: &Store,
    link: &Token,
    email: &Email,
    name: &str,
    password: &Password,
    address: &str,
) -> Result<UserId, LinkError> {
    let subjects = link_attempt(store, address).await?;
    if !people::owner_link_open(store, &link.hash(), store.now()).await? {
        return Err(LinkError::Spent);
    }
    let hashed = unless_busy::<_, LinkError>(store, &subjects, hashing::hash(password.clone()).await).await?;
    let mut tx = store.begin().await?;
    let business = people::use_owner_link(&mut tx, &link.hash()).await?.ok_or(LinkError::Spent)?;
    let user = people::create(&mut tx, email, name).await?.ok_or(LinkError::EmailTaken)?;
    people::add_membership(&mut tx, user.id, business, Role::Admin).await?;
    people::set_password(&mut tx, user.id, &hashed, None).await?;
    tx.commit().await?;
    limits::succeeded(store, &subjects).await?;
    Ok(user.id)
}

/// Whether a link sets a password now (for its form): it exists, is unused and unexpired,
/// and is not an invitation for an account that has a password.
pub async fn password_link_works(store: &Store, link: &Token) -> Result<bool, StoreError> {
    let Some(found) = people::link(store, &link.hash(), store.now()).await? else { return Ok(false) };
    Ok(found.purpose == LinkPurpose::PasswordReset
        || people::by_id(store, found.user_id).await?.is_some_and(|u| u.password_hash.is_none()))
}

/// Sets a password through a link. The link is looked up before any hashing; an
/// invitation's link never sets the password of an account that has one (it was made
/// before they chose one, or by another business); setting it spends every other link of
/// the person and ends every session they had.
pub async fn set_password_by_link(
    store: &Store,
    link: &Token,
    password: &Password,
    address: &str,
) -> Result<UserId, LinkError> {
    let subjects = link_attempt(store, address).await?;
    if !password_link_works(store, link).await? {
        return Err(LinkError::Spent);
    }
    let hashed = unless_busy::<_, LinkError>(store, &subjects, hashing::hash(password.clone()).await).await?;
    let mut tx = store.begin().await?;
    let found = people::use_link(&mut tx, &link.hash()).await?.ok_or(LinkError::Spent)?;
    let user = people::by_id(&mut tx, found.user_id).await?.ok_or(LinkError::Spent)?;
    if found.purpose == LinkPurpose::Invitation && user.password_hash.is_some() {
        return Err(LinkError::Spent);
    }
    people::set_password(&mut tx, user.id, &hashed, found.business_id).await?;
    tx.commit().await?;
    limits::succeeded(store, &subjects).await?;
    tracing::info!(user_id = %user.id, "a password was set through a link");
    Ok(user.id)
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
    #[error(transparent)]
    Busy(#[from] Busy),
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

/// Checks an email and password from `address` and starts a session in the business the
/// person used last, or, with two-factor on, waits for their code. The attempt takes its
/// slots ([`limits`]) before the password is checked; past a few, each further attempt
/// waits twice as long as the one before.
pub async fn sign_in(
    store: &Store,
    email: &Email,
    password: &Password,
    address: &str,
) -> Result<SignIn, SignInError> {
    let subjects = Subject::password_guess(email, address);
    take_slots(store, &subjects).await?;
    let user = people::by_email(store, email).await?;
    // An unknown address costs the same hashing as a wrong password: timing tells nothing.
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let matches =
        unless_busy::<_, SignInError>(store, &subjects, hashing::verify(stored, password.clone()).await)
            .await?;
    let Some(user) = user.filter(|_| matches) else {
        tracing::warn!("a sign-in was refused: wrong email or password");
        return Err(SignInError::Refused);
    };
    if user.totp_enabled_at.is_some() {
        let wait = Token::generate();
        let mut tx = store.begin().await?;
        people::start_second_factor_wait(&mut tx, &wait.hash(), user.id).await?;
        tx.commit().await?;
        return Ok(SignIn::SecondFactor { wait });
    }
    limits::succeeded(store, &subjects).await?;
    Ok(SignIn::Done(Box::new(start_session(store, user, None).await?)))
}

/// Takes a slot of each subject, or answers how long to wait (logged once, as a lockout).
async fn take_slots(store: &Store, subjects: &[Subject]) -> Result<(), SignInError> {
    match limits::take(store, subjects).await? {
        Ok(()) => Ok(()),
        Err(TooSoon { retry_after }) => {
            tracing::warn!(retry_after_s = retry_after.as_secs(), "a sign-in must wait: too many attempts");
            Err(SignInError::TooManyAttempts { retry_after })
        }
    }
}

/// The code after a right password: six digits from the authenticator (each accepted once)
/// or one of the recovery codes (each used once). Each code takes its slots first, per
/// account, address and wait, as passwords do.
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
    let [account_at, account, from] = Subject::password_guess(&user.email, address);
    let subjects = [account_at, account, from, Subject::code_wait(&wait.hash())];
    take_slots(store, &subjects).await?;
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
        tracing::warn!(user_id = %user.id, "a two-factor code was refused");
        return Err(SignInError::Refused);
    }
    limits::succeeded(store, &subjects).await?;
    start_session(store, user, Some(wait)).await
}

/// Starts a session in the business the person used last, ending the wait for a second
/// factor that led here.
async fn start_session(store: &Store, user: User, wait: Option<&Token>) -> Result<SignedIn, SignInError> {
    let now = store.now();
    let business = people::last_used_business(store, user.id).await?.ok_or(SignInError::NoBusiness)?;
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
    if let Some(wait) = wait {
        people::end_second_factor_wait(&mut tx, &wait.hash(), now - SECOND_FACTOR_WAIT).await?;
    }
    people::start_session(&mut tx, &token.hash(), &session).await?;
    people::touch_session(&mut tx, &token.hash(), business).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user.id, "signed in");
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

/// Why a change to how a person signs in was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("that is not your password")]
    WrongPassword,
    #[error("too many attempts; try again in {} seconds", retry_after.as_secs())]
    TooManyAttempts { retry_after: SignedDuration },
    #[error(transparent)]
    Busy(#[from] Busy),
}

impl From<SignInError> for AccountError {
    fn from(error: SignInError) -> Self {
        match error {
            SignInError::Store(error) => AccountError::Store(error),
            SignInError::TooManyAttempts { retry_after } => AccountError::TooManyAttempts { retry_after },
            SignInError::Busy(busy) => AccountError::Busy(busy),
            SignInError::Refused | SignInError::NoBusiness => AccountError::WrongPassword,
        }
    }
}

/// Proof that the signed-in person has just given their password again: what changing
/// how they sign in asks for (a session left open on a shared computer is not enough).
#[derive(Debug)]
pub struct Confirmed {
    user: User,
}

/// Checks the person's own password, limited as a sign-in is.
pub async fn confirm_password(
    store: &Store,
    user: UserId,
    password: &Password,
    address: &str,
) -> Result<Confirmed, AccountError> {
    let user = people::by_id(store, user).await?.ok_or(AccountError::WrongPassword)?;
    let subjects = Subject::password_guess(&user.email, address);
    take_slots(store, &subjects).await?;
    let verified = hashing::verify(user.password_hash.clone(), password.clone()).await;
    let matches = unless_busy::<_, AccountError>(store, &subjects, verified).await?;
    if !matches {
        tracing::warn!(user_id = %user.id, "a password given to change the account was wrong");
        return Err(AccountError::WrongPassword);
    }
    limits::succeeded(store, &subjects).await?;
    Ok(Confirmed { user })
}

/// Gives the user a new authenticator secret, kept sealed; two-factor stays off until
/// [`enable_two_factor`] confirms a code from it.
pub async fn begin_two_factor(
    store: &Store,
    sealer: &Sealer,
    confirmed: &Confirmed,
) -> Result<TwoFactorSetup, StoreError> {
    let user = &confirmed.user;
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
/// codes, shown this once and kept only as hashes. Every other session of the person ends
/// (`session` is the one kept).
pub async fn enable_two_factor(
    store: &Store,
    sealer: &Sealer,
    session: &Token,
    user: UserId,
    code: &str,
) -> Result<Vec<String>, TwoFactorError> {
    let user = people::by_id(store, user).await?.ok_or_else(|| StoreError::Corrupt("no such user".into()))?;
    let step = totp::matching_step(&secret_of(sealer, &user)?, code, store.now().as_second())
        .ok_or(TwoFactorError::WrongCode)?;
    let (codes, hashes) = recovery_codes();
    let mut tx = store.begin().await?;
    if !people::accept_totp_step(&mut tx, user.id, step).await? {
        return Err(TwoFactorError::WrongCode);
    }
    people::enable_totp(&mut tx, user.id, &hashes).await?;
    people::end_other_sessions(&mut tx, user.id, &session.hash()).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user.id, "two-factor sign-in was turned on");
    Ok(codes)
}

fn recovery_codes() -> (Vec<String>, Vec<ringtrack_domain::SecretHash>) {
    let codes = totp::generate_recovery_codes();
    let hashes = codes.iter().filter_map(|code| totp::recovery_code_hash(code)).collect();
    (codes, hashes)
}

/// Turns two-factor off (secret and recovery codes forgotten); every other session ends.
pub async fn disable_two_factor(
    store: &Store,
    session: &Token,
    confirmed: &Confirmed,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    people::disable_totp(&mut tx, confirmed.user.id).await?;
    people::end_other_sessions(&mut tx, confirmed.user.id, &session.hash()).await?;
    tx.commit().await?;
    tracing::info!(user_id = %confirmed.user.id, "two-factor sign-in was turned off");
    Ok(())
}

/// New recovery codes in place of the old (each unused one stops working); every other
/// session ends. Answers the codes, shown once.
pub async fn renew_recovery_codes(
    store: &Store,
    session: &Token,
    confirmed: &Confirmed,
) -> Result<Vec<String>, StoreError> {
    let (codes, hashes) = recovery_codes();
    let mut tx = store.begin().await?;
    people::replace_recovery_codes(&mut tx, confirmed.user.id, &hashes).await?;
    people::end_other_sessions(&mut tx, confirmed.user.id, &session.hash()).await?;
    tx.commit().await?;
    tracing::info!(user_id = %confirmed.user.id, "recovery codes were renewed");
    Ok(codes)
}

/// A new password chosen while signed in: every session ends and this browser gets a new
/// one in the same business (answered, for its cookie). Whose link the old password came
/// through stays as it was: the person has proved their password, not their address.
pub async fn change_password(
    store: &Store,
    current: &Current,
    confirmed: &Confirmed,
    new: &Password,
) -> Result<Token, AccountError> {
    let hashed = hashing::hash(new.clone()).await?;
    let user = &confirmed.user;
    let token = Token::generate();
    let now = store.now();
    let session = Session {
        user_id: user.id,
        user_name: user.name.clone(),
        business_id: current.session.business_id,
        csrf_token: Token::generate().expose().to_owned(),
        created_at: now,
        last_seen_at: now,
    };
    let mut tx = store.begin().await?;
    people::set_password(&mut tx, user.id, &hashed, user.password_link_business_id).await?;
    people::start_session(&mut tx, &token.hash(), &session).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user.id, "a password was changed");
    Ok(token)
}

/// Ends every session of the person, this one too.
pub async fn sign_out_everywhere(store: &Store, user: UserId) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    people::end_sessions(&mut tx, user).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user, "signed out everywhere");
    Ok(())
}

/// The user's authenticator secret, opened; empty (matching no code) when there is none.
fn secret_of(sealer: &Sealer, user: &User) -> Result<Vec<u8>, StoreError> {
    let Some(sealed) = &user.totp_secret else { return Ok(Vec::new()) };
    let encoded = sealer.open(sealed).map_err(|e| StoreError::Corrupt(format!("a TOTP secret: {e}")))?;
    totp::from_base32(&encoded).ok_or_else(|| StoreError::Corrupt("a TOTP secret is not base32".into()))
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

/// Deletes what no one can use any more: sessions past their idle or absolute limit,
/// waits for a code past theirs, links a day past their expiry, and attempt counts past
/// the window. Safe on every node at once; answers how many rows went.
pub async fn purge_expired(store: &Store) -> Result<u64, StoreError> {
    let mut tx = store.begin().await?;
    let now = tx.now();
    let mut purged = people::purge_expired(
        &mut tx,
        now - SESSION_IDLE,
        now - SESSION_ABSOLUTE,
        now - SECOND_FACTOR_WAIT,
        now - SignedDuration::from_hours(24),
    )
    .await?;
    purged += ringtrack_store::attempts::purge(&mut tx, now - limits::WINDOW).await?;
    tx.commit().await?;
    Ok(purged)
}

pub async fn sign_out(store: &Store, token: &Token) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    people::end_session(&mut tx, &token.hash()).await?;
    tx.commit().await
}

/// The invitations waiting for the signed-in person.
pub async fn pending_invitations(store: &Store, user: UserId) -> Result<Vec<people::Invitation>, StoreError> {
    people::pending_invitations(store, user, store.now()).await
}

/// The open invitation behind a link, if any.
pub async fn invitation(store: &Store, link: &Token) -> Result<Option<people::Invitation>, StoreError> {
    people::invitation_by_token(store, &link.hash(), store.now()).await
}

/// Why an invitation was not answered.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No open invitation of this person's to that business.
    #[error("this invitation has expired, was answered already, or is for someone else")]
    Gone,
    /// The person's password was set through a link another business's admin was shown:
    /// they join only through this business's own link.
    #[error("open the link the business sent you to accept")]
    NeedsLink,
}

/// How a person answers an invitation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Accept,
    Decline,
}

/// Answers the person's invitation to `business` from their list. Accepting from the list
/// needs a password no other business's admin could have set; otherwise the business's
/// own link is the proof ([`answer_by_link`]). On accepting, the session moves there.
pub async fn answer_invitation(
    store: &Store,
    token: &Token,
    current: &Current,
    business: BusinessId,
    answer: Answer,
) -> Result<(), AnswerError> {
    let user = people::by_id(store, current.session.user_id).await?.ok_or(AnswerError::Gone)?;
    let trusted = user.password_link_business_id.is_none_or(|via| via == business);
    if answer == Answer::Accept && !trusted {
        return Err(AnswerError::NeedsLink);
    }
    answer_for(store, token, user.id, business, answer).await
}

/// Answers the invitation behind `link`, which must be the signed-in person's.
pub async fn answer_by_link(
    store: &Store,
    token: &Token,
    current: &Current,
    link: &Token,
    answer: Answer,
) -> Result<BusinessId, AnswerError> {
    let invitation = invitation(store, link).await?.ok_or(AnswerError::Gone)?;
    if invitation.user_id != current.session.user_id {
        return Err(AnswerError::Gone);
    }
    answer_for(store, token, invitation.user_id, invitation.business_id, answer).await?;
    Ok(invitation.business_id)
}

async fn answer_for(
    store: &Store,
    token: &Token,
    user: UserId,
    business: BusinessId,
    answer: Answer,
) -> Result<(), AnswerError> {
    let mut tx = store.begin().await?;
    let role = people::answer_invitations(&mut tx, user, business).await?.ok_or(AnswerError::Gone)?;
    if answer == Answer::Accept {
        people::add_membership(&mut tx, user, business, role).await?;
        people::touch_session(&mut tx, &token.hash(), business).await?;
    }
    tx.commit().await?;
    tracing::info!(user_id = %user, business_id = %business, ?answer, "an invitation was answered");
    Ok(())
}
