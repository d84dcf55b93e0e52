//! A business's people: an admin invites them (by email when the server sends mail, else
//! by a link shown to the admin once), and anyone who forgot their password asks for a
//! link to set a new one. Links are single-use, expire, and are never logged.

use jiff::SignedDuration;
use ringtrack_domain::jobs::Job;
use ringtrack_domain::people::{Email, Token};
use ringtrack_domain::validation::{FieldErrors, parse_name};
use ringtrack_domain::{Role, UserId};
use ringtrack_store::people::{self, LinkPurpose, Member};
use ringtrack_store::{Store, StoreError, jobs};

use crate::limits::{self, Subject, TooSoon};
use crate::mail::{MailError, Mailer};
use crate::people::{Current, Invited, PeopleError};

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
    /// Too many invitations from this business or this admin lately.
    #[error("too many invitations; try again in {} seconds", retry_after.as_secs())]
    TooMany { retry_after: SignedDuration },
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
            PeopleError::Busy(_) => TeamError::Store(StoreError::Unavailable("hashing is busy".into())),
        }
    }
}

/// What becomes of an invitation. `joins`: the person has an account already (or another
/// business made it), so the link lets them join once signed in and sets no password.
#[derive(Debug)]
pub enum Invitation {
    /// The link went to the person by email.
    Emailed { joins: bool },
    /// The admin must pass the link on (shown once): the server sends no mail, or sending
    /// failed (`failure` says why).
    Link { url: String, failure: Option<String>, joins: bool },
    /// They were a member already: their role is now the one chosen.
    Added,
}

/// The business's people.
pub async fn members(store: &Store, current: &Current) -> Result<Vec<Member>, StoreError> {
    people::members(store, current.session.business_id, MAX_MEMBERS).await
}

/// The longest a business's name runs in a subject line.
const SUBJECT_NAME_CHARS: usize = 60;

/// A business's name as a subject line carries it: one line, no control characters,
/// bounded.
fn plain_name(name: &str) -> String {
    let words: Vec<&str> =
        name.split(|c: char| c.is_whitespace() || c.is_control()).filter(|w| !w.is_empty()).collect();
    let line = words.join(" ");
    if line.chars().count() <= SUBJECT_NAME_CHARS {
        return line;
    }
    let cut: String = line.chars().take(SUBJECT_NAME_CHARS - 1).collect();
    format!("{}…", cut.trim_end())
}

/// An admin invites `email` with `role`; the link goes by email when it can. Limited per
/// business and per admin.
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
    let subjects = [
        Subject::invitations_of(current.session.business_id),
        Subject::invitations_by(current.session.user_id),
    ];
    if let Err(TooSoon { retry_after }) = limits::take(store, &subjects).await? {
        return Err(TeamError::TooMany { retry_after });
    }
    let inviter = &current.session.user_name;
    let invited =
        crate::people::invite(store, current.session.business_id, &email, &name, role, None, inviter).await?;
    let business = plain_name(&current.membership.business_name);
    let (link, joins) = match invited.invited {
        Invited::Added => return Ok(Invitation::Added),
        Invited::PasswordLink(link) => (link, false),
        Invited::Invitation(link) => (link, true),
    };
    let url = link_url(public_url, "invitations", &link);
    let (subject, body) = if joins {
        (
            format!("Join {business} on ringtrack"),
            format!(
                "{inviter} invited you to join {business} on ringtrack, where its calls are tracked.\n\n\
                 Open this link, sign in with the account you have, and accept (it works for 7 days):\n\n{url}\n"
            ),
        )
    } else {
        (
            format!("You are invited to {business}"),
            format!(
                "{inviter} invited you to {business} on ringtrack, where its calls are tracked.\n\n\
                 Set your password here (the link works once, for 7 days):\n\n{url}\n"
            ),
        )
    };
    match mailer.send(&email, &subject, body).await {
        Ok(()) => {
            if !joins {
                crate::people::link_emailed(store, &link).await?;
            }
            Ok(Invitation::Emailed { joins })
        }
        Err(MailError::NotConfigured) => Ok(Invitation::Link { url, failure: None, joins }),
        Err(MailError::Failed(why)) => {
            tracing::warn!(reason = %why, "an invitation could not be emailed; the admin is shown the link");
            Ok(Invitation::Link { url, failure: Some(why), joins })
        }
    }
}

/// The business's invitations that wait for an answer (from people with an account).
pub async fn waiting(store: &Store, current: &Current) -> Result<Vec<people::Waiting>, StoreError> {
    people::waiting_invitations(store, current.session.business_id, store.now(), MAX_MEMBERS).await
}

/// An admin withdraws the business's open invitations of `user`: their links stop working.
pub async fn withdraw(store: &Store, current: &Current, user: UserId) -> Result<(), TeamError> {
    if current.membership.role != Role::Admin {
        return Err(TeamError::NotAllowed);
    }
    let mut tx = store.begin().await?;
    people::answer_invitations(&mut tx, user, current.session.business_id).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user, business_id = %current.session.business_id, "an invitation was withdrawn");
    Ok(())
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

/// Asks for a link that sets a new password for `email`. The request only queues the job
/// ([`send_password_reset`]) that looks the address up and mails the link, so the answer
/// and its time are the same whether or not the address has an account. Requests are
/// limited per address asked for and per client address.
pub async fn request_password_reset(
    store: &Store,
    mailer: &Mailer,
    email: &Email,
    address: &str,
) -> Result<(), ResetError> {
    if !mailer.is_configured() {
        return Err(ResetError::NoMail);
    }
    let subjects = [Subject::reset_of(email), Subject::resets_from(address)];
    if let Err(TooSoon { retry_after }) = limits::take(store, &subjects).await? {
        return Err(ResetError::TooManyRequests { retry_after });
    }
    let mut tx = store.begin().await?;
    jobs::enqueue(&mut tx, &Job::SendPasswordReset { email: email.as_str().to_owned() }).await?;
    tx.commit().await?;
    Ok(())
}

/// The job behind [`request_password_reset`]: when `email` has an account, a link that sets
/// a new password (for an hour) is made and mailed. A mail that fails is an error (the job
/// is tried again, with a new link).
pub async fn send_password_reset(
    store: &Store,
    mailer: &Mailer,
    public_url: &str,
    email: &str,
) -> Result<(), String> {
    let email = Email::from_stored(email.to_owned());
    let Some(user) = people::by_email(store, &email).await.map_err(|e| e.to_string())? else { return Ok(()) };
    let token = Token::generate();
    let mut tx = store.begin().await.map_err(|e| e.to_string())?;
    let expires = tx.now() + RESET_LIFETIME;
    people::create_link(&mut tx, &token.hash(), user.id, LinkPurpose::PasswordReset, None, expires)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    let url = link_url(public_url, "invitations", &token);
    let body = format!(
        "Someone (we hope you) asked to set a new password for {email} on ringtrack.\n\n\
         Set it here (the link works once, for an hour):\n\n{url}\n\n\
         If it was not you, ignore this message: your password stays as it is.\n"
    );
    mailer.send(&email, "Set a new ringtrack password", body).await.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_business_name_in_a_subject_is_one_bounded_line() {
        assert_eq!(super::plain_name("Acme\r\nBcc: victim@example.com"), "Acme Bcc: victim@example.com");
        let long = "Plumbing ".repeat(20);
        let plain = super::plain_name(&long);
        assert_eq!(plain.chars().count(), 60);
        assert!(plain.ends_with('…') && !plain.contains('\n'));
    }
}
