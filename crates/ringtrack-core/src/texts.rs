//! Sending a text: from one of the business's numbers that can text, never to someone who
//! opted out, charged per segment when queued (the job that sends it refunds a refusal).

use ringtrack_domain::sms::{self, Status};
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
