//! Email, the one way the app writes to people outside it: invitations and password
//! resets (and later alerts). SMTP at `RINGTRACK_SMTP_URL` — `smtps://` (TLS from the
//! start), `smtp://…?tls=required` (STARTTLS) or plain `smtp://` for a relay on the same
//! machine — from `RINGTRACK_SMTP_FROM`. Without it, nothing is sent and the pages say so
//! (an inviting admin is shown the link instead).
//!
//! The URL may hold a password: it is never logged, and errors name only what failed.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use ringtrack_domain::people::Email;

/// How long one message may take to hand over.
const SEND_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Clone)]
pub struct Mailer {
    smtp: Option<(AsyncSmtpTransport<Tokio1Executor>, Mailbox)>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("configured", &self.is_configured()).finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailConfigError {
    #[error(
        "RINGTRACK_SMTP_URL must be smtp://host[:port] (add ?tls=required for STARTTLS) or smtps://host[:port]"
    )]
    Url,
    #[error("RINGTRACK_SMTP_FROM must be an address such as \"ringtrack <calls@example.com>\"")]
    From,
    #[error("RINGTRACK_SMTP_URL and RINGTRACK_SMTP_FROM go together")]
    Half,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("email is not set up on this server")]
    NotConfigured,
    #[error("the mail server refused or could not be reached: {0}")]
    Failed(String),
}

impl Mailer {
    /// Nothing is sent.
    pub fn none() -> Mailer {
        Mailer { smtp: None }
    }

    pub fn from_settings(url: Option<&str>, from: Option<&str>) -> Result<Mailer, MailConfigError> {
        match (url, from) {
            (None, None) => Ok(Mailer::none()),
            (Some(url), Some(from)) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|_| MailConfigError::Url)?
                    .timeout(Some(SEND_TIMEOUT))
                    .build();
                let from: Mailbox = from.parse().map_err(|_| MailConfigError::From)?;
                Ok(Mailer { smtp: Some((transport, from)) })
            }
            _ => Err(MailConfigError::Half),
        }
    }

    pub fn is_configured(&self) -> bool {
        self.smtp.is_some()
    }

    /// Sends a plain-text message to one person.
    pub async fn send(&self, to: &Email, subject: &str, body: String) -> Result<(), MailError> {
        let Some((transport, from)) = &self.smtp else { return Err(MailError::NotConfigured) };
        let to: Mailbox =
            to.as_str().parse().map_err(|_| MailError::Failed("the address is not one SMTP takes".into()))?;
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|error| MailError::Failed(error.to_string()))?;
        transport.send(message).await.map_err(|error| MailError::Failed(error.to_string()))?;
        Ok(())
    }
}
