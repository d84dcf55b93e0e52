//! Texts both ways. Sending: from one of the business's numbers that can text, never to
//! someone who opted out, charged per segment when queued and sent by a job (a refusal is
//! refunded); the carrier's status callbacks move it forward. Receiving: kept on the
//! number it reached, compliance keywords answered. Every change of status is an
//! `sms.status` event, every text received an `sms.received`.

use ringtrack_domain::calls::Direction;
use ringtrack_domain::jobs::Job;
use ringtrack_domain::sms::{self, Keyword, Status};
use ringtrack_domain::webhooks::EventType;
use ringtrack_domain::{BusinessId, Cents, FieldErrors, NumberId, NumberStatus, PhoneNumber, Prices};
use ringtrack_store::messages::{self, Message, NewMessage};
use ringtrack_store::{StoreError, Tx, businesses, jobs, numbers, webhooks};

use ringtrack_domain::phone::Caller;

use crate::balance;

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

/// A text refused for one field's reason.
pub fn refused(field: &str, message: &str) -> TextError {
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
    if Caller::from_carrier(text.to.as_str()).is_withheld() {
        return Err(refused(
            "to",
            "is how a carrier writes a withheld caller, not a number that takes texts",
        ));
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
        direction: Direction::Outbound,
        status: Status::Queued,
        segments,
        cost,
        media_urls: &[],
        carrier_sid: None,
    };
    let message = messages::record(tx, &new)
        .await?
        .ok_or_else(|| StoreError::Corrupt("a new outbound text has no carrier id to repeat".into()))?;
    balance::charge(tx, text.business_id, cost, &format!("text {} ({segments} segments)", message.id))
        .await?;
    jobs::enqueue(tx, &Job::SendSms { message_id: message.id }).await?;
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
        direction: Direction::Inbound,
        status: Status::Received,
        segments: sms::segments(text.body).count,
        cost: Cents::ZERO,
        media_urls: text.media_urls,
        carrier_sid: Some(text.carrier_sid),
    };
    let Some(kept) = messages::record(tx, &inbound).await? else { return Ok(Received::Repeated) };
    webhooks::emit(tx, number.business_id, EventType::SmsReceived, kept.id).await?;
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
            direction: Direction::Outbound,
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

/// The carrier refused to send a queued text: it is `failed` with the carrier's `error`,
/// and its cost refunded (once, however often this is learnt).
pub async fn not_sent(tx: &mut Tx, message: &Message, error: &str) -> Result<(), StoreError> {
    if !messages::mark_failed(tx, message, error).await? {
        return Ok(());
    }
    balance::refund(
        tx,
        message.business_id,
        message.cost,
        &format!("refund of text {} (not sent)", message.id),
    )
    .await?;
    webhooks::emit(tx, message.business_id, EventType::SmsStatus, message.id).await
}

/// The carrier's word on a text it took (`sent`, `delivered`, `failed` with its error):
/// the status moves forward only. Answers whether anything changed.
pub async fn carrier_status(
    tx: &mut Tx,
    carrier_sid: &str,
    status: Status,
    error: Option<&str>,
) -> Result<bool, StoreError> {
    let Some(message) = messages::carrier_status(tx, carrier_sid, status, error).await? else {
        return Ok(false);
    };
    webhooks::emit(tx, message.business_id, EventType::SmsStatus, message.id).await?;
    Ok(true)
}
