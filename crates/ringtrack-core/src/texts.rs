//! Texts both ways. Sending: from one of the business's numbers that can text, never to
//! someone who opted out, charged per segment when queued (the job that sends it refunds a
//! refusal). Receiving: kept on the number it reached, compliance keywords answered.

use ringtrack_domain::sms::{self, Keyword, Status};
use ringtrack_domain::{BusinessId, Cents, FieldErrors, NumberId, NumberStatus, PhoneNumber, Prices};
use ringtrack_store::messages::{self, Message, NewMessage, OUTBOUND};
use ringtrack_store::{StoreError, Tx, businesses, numbers};

/// A text a business asks to send, its fields checked.
pub struct OutgoingText<'a> {
    pub business_id: BusinessId,
    pub from_number: NumberId,
    pub to: &'a PhoneNumber,
    pub body: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum TextError {
    /// A field names what cannot send.
    #[error("{0}")]
    Refused(FieldErrors),
    #[error("{0} has opted out of this business's texts (they can text START to opt back in)")]
    OptedOut(PhoneNumber),
    #[error("The balance ({balance}) cannot pay this text ({segments} segments, {cost})")]
    InsufficientBalance { balance: Cents, segments: u32, cost: Cents },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn refused(field: &str, message: &str) -> TextError {
    let mut errors = FieldErrors::new();
    errors.push(field, message);
    TextError::Refused(errors)
}

/// Queues `text` for sending and charges it, in `tx` (the business locked).
pub async fn queue(tx: &mut Tx, prices: &Prices, text: &OutgoingText<'_>) -> Result<Message, TextError> {
    let number = numbers::get(&mut *tx, text.business_id, text.from_number)
        .await?
        .ok_or_else(|| refused("from_number_id", "is not a number of this business"))?;
    if number.status == NumberStatus::Released {
        return Err(refused("from_number_id", "is released and can no longer send texts"));
    }
    if !number.sms_enabled {
        return Err(refused("from_number_id", "cannot send texts"));
    }
    if messages::is_opted_out(&mut *tx, text.business_id, text.to).await? {
        return Err(TextError::OptedOut(text.to.clone()));
    }
    let segments = sms::segments(text.body).count;
    let cost = prices.text(segments);
    let balance = businesses::get(&mut *tx, text.business_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("the sending business is gone".into()))?
        .balance;
    if balance < cost {
        return Err(TextError::InsufficientBalance { balance, segments, cost });
    }
    let new = NewMessage {
        business_id: text.business_id,
        number_id: Some(number.id),
        from: &number.phone_number,
        to: text.to,
        body: text.body,
        direction: OUTBOUND,
        status: Status::Queued,
        segments,
        cost,
        media_urls: &[],
        carrier_sid: None,
    };
    let message = messages::send(tx, &new).await?;
    tracing::info!(message_id = %message.id, segments, "text queued");
    Ok(message)
}

/// A text that reached one of our numbers, as the carrier reports it.
pub struct IncomingText<'a> {
    pub carrier_sid: &'a str,
    pub from: &'a PhoneNumber,
    pub to: &'a PhoneNumber,
    pub body: &'a str,
    pub media_urls: &'a [String],
}

/// What became of an incoming text.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// Not to a number in service: not kept, no reply.
    NotOurs,
    /// The carrier repeated a text already kept (and answered).
    Repeated,
    /// Kept on the number it was sent to (so it reaches only that number's business);
    /// with the reply a compliance keyword gets (STOP, START, HELP), itself kept as sent.
    Kept { number_id: NumberId, reply: Option<String> },
}

/// Keeps an incoming text and answers its compliance keyword, in `tx`. A second STOP from
/// someone already opted out gets no answer.
pub async fn receive(tx: &mut Tx, text: &IncomingText<'_>) -> Result<Received, StoreError> {
    let Some(number) = numbers::in_service(&mut *tx, text.to).await? else { return Ok(Received::NotOurs) };
    let inbound = NewMessage {
        business_id: number.business_id,
        number_id: Some(number.id),
        from: text.from,
        to: text.to,
        body: text.body,
        direction: messages::INBOUND,
        status: Status::Received,
        segments: sms::segments(text.body).count,
        cost: Cents::ZERO,
        media_urls: text.media_urls,
        carrier_sid: Some(text.carrier_sid),
    };
    if messages::record(tx, &inbound).await?.is_none() {
        return Ok(Received::Repeated);
    }
    let business = businesses::get(&mut *tx, number.business_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("a number's business is gone".into()))?;
    let reply = match Keyword::of(text.body) {
        Some(Keyword::OptOut) => messages::opt_out(tx, number.business_id, text.from)
            .await?
            .then(|| sms::opt_out_reply(&business.name)),
        Some(Keyword::OptIn) => {
            messages::opt_in(tx, number.business_id, text.from).await?;
            Some(sms::opt_in_reply(&business.name))
        }
        Some(Keyword::Help) => Some(sms::help_reply(&business.name)),
        None => None,
    };
    if let Some(reply) = &reply {
        let outbound = NewMessage {
            from: text.to,
            to: text.from,
            body: reply,
            direction: OUTBOUND,
            status: Status::Sent,
            segments: sms::segments(reply).count,
            media_urls: &[],
            carrier_sid: None,
            ..inbound
        };
        messages::record(tx, &outbound).await?;
    }
    tracing::info!(message_sid = text.carrier_sid, number_id = %number.id, keyword = ?Keyword::of(text.body), "text received");
    Ok(Received::Kept { number_id: number.id, reply })
}
