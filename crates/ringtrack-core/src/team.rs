//! A business's people: an admin invites them (by email when the server sends mail, else
//! by a link shown to the admin once), and anyone who forgot their password asks for a
//! link to set a new one. Links are single-use, expire, and are never logged.

use jiff::SignedDuration;
use ringtrack_domain::Role;
use ringtrack_domain::people::{Email, Token};
use ringtrack_domain::validation::{FieldErrors, parse_name};
use ringtrack_store::people::{self, LinkPurpose, Member};
use ringtrack_store::{Store, StoreError};

use crate::mail::{MailError, Mailer};
use crate::people::{Current, PeopleError};

/// How long a password-reset link works.
pub const RESET_LIFETIME: SignedDuration = SignedDuration::from_hours(1);

/// The most people a team page lists.
pub const MAX_MEMBERS: u32 = 500;

#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    /// Only an admin invites, and never to a role above their own.
    #[error("only an admin can invite people")]
    NotAllowed,
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<PeopleError> for TeamError {
    fn from(error: PeopleError) -> Self {
        match error {
            PeopleError::Store(error) => TeamError::Store(error),
            PeopleError::NoSuchBusiness => {
                TeamError::Store(StoreError::Corrupt("the business is gone".into()))
            }
        }
    }
}

/// What became of an invitation.
#[derive(Debug)]
pub enum Invitation {
    /// The link went to the person by email.
    Emailed,
    /// The admin must pass the link on (shown once): the server sends no mail, or sending
    /// failed (`failure` says why).
    Link { url: String, failure: Option<String> },
    /// They already had an account: the business is in their switcher now.
    Added,
}

/// The business's people.
pub async fn members(store: &Store, current: &Current) -> Result<Vec<Member>, StoreError> {
    people::members(store, current.session.business_id, MAX_MEMBERS).await
}

/// An admin invites `email` with `role`; the link goes by email when it can.
pub async fn invite(
    store: &Store,
    mailer: &Mailer,
    public_url: &str,
    current: &Current,
    email: &str,
    name: &str,
    role: Role,
) -> Result<Invitation, TeamError> {
    if !current.membership.role.may_grant(role) {
        return Err(TeamError::NotAllowed);
    }
    let mut errors = FieldErrors::new();
    let email = errors.take(Email::parse("email", email));
    let name = errors.take(parse_name("name", name, 200));
    let (Some(email), Some(name)) = (email, name) else { return Err(TeamError::Invalid(errors)) };
    let business = &current.membership.business_name;
    let invited =
        crate::people::invite(store, current.session.business_id, &email, &name, role, None).await?;
    let Some(link) = invited.link else { return Ok(Invitation::Added) };
    let url = link_url(public_url, "invitations", &link);
    let body = format!(
        "{inviter} invited you to {business} on ringtrack, where its calls are tracked.\n\n\
         Set your password here (the link works once, for 7 days):\n\n{url}\n",
        inviter = current.session.user_name,
    );
    match mailer.send(&email, &format!("You are invited to {business}"), body).await {
        Ok(()) => Ok(Invitation::Emailed),
        Err(MailError::NotConfigured) => Ok(Invitation::Link { url, failure: None }),
        Err(MailError::Failed(why)) => {
            tracing::warn!(reason = %why, "an invitation could not be emailed; the admin is shown the link");
            Ok(Invitation::Link { url, failure: Some(why) })
        }
    }
}

fn link_url(public_url: &str, path: &str, token: &Token) -> String {
    format!("{}/{path}/{}", public_url.trim_end_matches('/'), token.expose())
}

#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error("email is not set up on this server")]
    NoMail,
    #[error("too many requests; try again in {} seconds", retry_after.as_secs())]
    TooManyRequests { retry_after: SignedDuration },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Emails a link that sets a new password, when `email` has an account; the answer is the
/// same either way (no one learns who has an account). Requests are limited per account
/// and per address as sign-in attempts are.
pub async fn request_password_reset(
    store: &Store,
    mailer: &Mailer,
    public_url: &str,
    email: &Email,
    address: &str,
) -> Result<(), ResetError> {
    if !mailer.is_configured() {
        return Err(ResetError::NoMail);
    }
    let subjects = [format!("reset:{email}"), format!("reset-address:{address}")];
    if let Some(retry_after) = crate::people::attempts_wait(store, &subjects).await? {
        return Err(ResetError::TooManyRequests { retry_after });
    }
    crate::people::count_attempt(store, &subjects).await?;
    let Some(user) = people::by_email(store, email).await? else { return Ok(()) };
    let token = Token::generate();
    let mut tx = store.begin().await?;
    let expires = tx.now() + RESET_LIFETIME;
    people::create_link(&mut tx, &token.hash(), user.id, LinkPurpose::PasswordReset, expires).await?;
    tx.commit().await?;
    let url = link_url(public_url, "invitations", &token);
    let body = format!(
        "Someone (we hope you) asked to set a new password for {email} on ringtrack.\n\n\
         Set it here (the link works once, for an hour):\n\n{url}\n\n\
         If it was not you, ignore this message: your password stays as it is.\n"
    );
    if let Err(error) = mailer.send(email, "Set a new ringtrack password", body).await {
        // The person sees the same answer; the operator sees why in the log.
        tracing::warn!(%error, "a password-reset link could not be emailed");
    }
    Ok(())
}
