//! Text messages, both ways, and opt-outs. The carrier's answers and status callbacks move
//! a message's status forward only; inbound texts are kept once per carrier id.

use jiff::Timestamp;
use ringtrack_domain::calls::Direction;
use ringtrack_domain::dates::DateRange;
use ringtrack_domain::paging::{Cursor, PageRequest};
use ringtrack_domain::sms::Status;
use ringtrack_domain::{BusinessId, Cents, MessageId, NumberId, PhoneNumber};

use crate::paging::{Keyed, Page, fetch_page};
use crate::record::model;
use crate::sql::Sql;
use crate::{Connection, Result, StoreError, Tx};

model! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Message, columns COLUMNS {
        pub id: MessageId = parsed,
        pub business_id: BusinessId = parsed,
        pub number_id: Option<NumberId> = opt_parsed,
        pub from: String = text("from_number"),
        pub to: String = text("to_number"),
        pub contact: String = text,
        pub body: String = text,
        pub direction: Direction = parsed,
        pub status: Status = parsed,
        pub segments: i64 = int,
        pub cost: Cents = cents("cost_cents"),
        pub error: Option<String> = opt_text,
        pub media_urls: Vec<String> = json,
        pub carrier_sid: Option<String> = opt_text,
        pub created_at: Timestamp = time,
        pub updated_at: Timestamp = time,
    }
}

impl Keyed for Message {
    fn cursor(&self) -> Cursor {
        Cursor { created_at: self.created_at.as_second(), id: self.id.as_uuid() }
    }
}

/// A message to record. `status` and `cost` differ by direction.
pub struct NewMessage<'a> {
    pub business_id: BusinessId,
    pub number_id: Option<NumberId>,
    pub from: &'a PhoneNumber,
    pub to: &'a PhoneNumber,
    pub body: &'a str,
    pub direction: Direction,
    pub status: Status,
    pub segments: u32,
    pub cost: Cents,
    pub media_urls: &'a [String],
    pub carrier_sid: Option<&'a str>,
}

/// Writes a message (an inbound text, or the compliance reply to one); `None` when its
/// carrier id was already recorded (a repeated webhook).
pub async fn record(tx: &mut Tx, new: &NewMessage<'_>) -> Result<Option<Message>> {
    let id = MessageId::new();
    let contact = if new.direction == Direction::Outbound { new.to } else { new.from };
    let media = serde_json::to_string(new.media_urls).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let now = tx.now();
    let insert = Sql::new(format!(
        "INSERT INTO messages ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, $12, $13, $14, $14)
         ON CONFLICT (carrier_sid) DO NOTHING"
    ))
    .bind(id)
    .bind(new.business_id)
    .bind(new.number_id)
    .bind(new.from.as_str())
    .bind(new.to.as_str())
    .bind(contact.as_str())
    .bind(new.body)
    .bind(new.direction.as_str())
    .bind(new.status.as_str())
    .bind(i64::from(new.segments))
    .bind(new.cost.get())
    .bind(media)
    .bind(new.carrier_sid)
    .bind(now);
    if tx.conn().execute(insert).await? == 0 {
        return Ok(None);
    }
    by_id(&mut *tx, id).await
}

pub async fn by_id(mut db: impl Connection, id: MessageId) -> Result<Option<Message>> {
    let select = Sql::new(format!("SELECT {COLUMNS} FROM messages WHERE id = $1")).bind(id).on_unique_key();
    Ok(db.conn().fetch_optional(select).await?)
}

pub async fn by_carrier_sid(mut db: impl Connection, carrier_sid: &str) -> Result<Option<Message>> {
    let select = Sql::new(format!("SELECT {COLUMNS} FROM messages WHERE carrier_sid = $1"))
        .bind(carrier_sid)
        .on_unique_key();
    Ok(db.conn().fetch_optional(select).await?)
}

/// The carrier took the text: its id, and the status it gave.
pub async fn accepted(tx: &mut Tx, id: MessageId, carrier_sid: &str, status: Status) -> Result<()> {
    let update = Sql::new("UPDATE messages SET carrier_sid = $1, status = $2, updated_at = $3 WHERE id = $4")
        .bind(carrier_sid)
        .bind(status.as_str())
        .bind(tx.now())
        .bind(id);
    tx.conn().execute(update).await?;
    Ok(())
}

/// The text could not be sent: `failed` with the carrier's error. Answers false when it
/// had left the queue already.
pub async fn mark_failed(tx: &mut Tx, message: &Message, error: &str) -> Result<bool> {
    let update = Sql::new(
        "UPDATE messages SET status = $1, error = $2, updated_at = $3 WHERE id = $4 AND status = $5",
    )
    .bind(Status::Failed.as_str())
    .bind(error)
    .bind(tx.now())
    .bind(message.id)
    .bind(Status::Queued.as_str());
    Ok(tx.conn().execute(update).await? == 1)
}

/// A carrier status callback: moves the message forward (never back); a failure keeps the
/// carrier's error. Answers the message when it changed.
pub async fn carrier_status(
    tx: &mut Tx,
    carrier_sid: &str,
    status: Status,
    error: Option<&str>,
) -> Result<Option<Message>> {
    let select = Sql::new(format!("SELECT {COLUMNS} FROM messages WHERE carrier_sid = $1{}", tx.row_lock()))
        .bind(carrier_sid);
    let Some(message) = tx.conn().fetch_optional::<Message>(select).await? else { return Ok(None) };
    if !message.status.may_become(status) {
        return Ok(None);
    }
    let update = Sql::new("UPDATE messages SET status = $1, error = $2, updated_at = $3 WHERE id = $4")
        .bind(status.as_str())
        .bind(error.filter(|_| status == Status::Failed))
        .bind(tx.now())
        .bind(message.id);
    tx.conn().execute(update).await?;
    Ok(Some(message))
}

#[derive(Clone, Debug, Default)]
pub struct MessageFilter {
    pub number_id: Option<NumberId>,
    pub direction: Option<Direction>,
    pub contact: Option<PhoneNumber>,
    pub range: DateRange,
}

pub async fn list(
    db: impl Connection,
    business_id: BusinessId,
    filter: &MessageFilter,
    page: &PageRequest,
) -> Result<Page<Message>> {
    let mut from = Sql::new("FROM messages WHERE business_id = $1").bind(business_id);
    if let Some(contact) = &filter.contact {
        from.push(" AND contact = ").push_bind(contact.as_str());
    }
    if let Some(number) = filter.number_id {
        from.push(" AND number_id = ").push_bind(number);
    }
    if let Some(direction) = filter.direction {
        from.push(" AND direction = ").push_bind(direction.as_str());
    }
    from.push_period(&filter.range);
    fetch_page(db, COLUMNS, from, "", page).await
}

/// Opts `phone` out of the business's texts; answers whether it was opted in until now.
pub async fn opt_out(tx: &mut Tx, business_id: BusinessId, phone: &PhoneNumber) -> Result<bool> {
    let insert = Sql::new(
        "INSERT INTO sms_opt_outs (business_id, phone_number, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (business_id, phone_number) DO NOTHING",
    )
    .bind(business_id)
    .bind(phone.as_str())
    .bind(tx.now());
    Ok(tx.conn().execute(insert).await? == 1)
}

/// Opts `phone` back in; answers whether it had opted out.
pub async fn opt_in(tx: &mut Tx, business_id: BusinessId, phone: &PhoneNumber) -> Result<bool> {
    let delete = Sql::new("DELETE FROM sms_opt_outs WHERE business_id = $1 AND phone_number = $2")
        .bind(business_id)
        .bind(phone.as_str());
    Ok(tx.conn().execute(delete).await? == 1)
}

pub async fn is_opted_out(
    mut db: impl Connection,
    business_id: BusinessId,
    phone: &PhoneNumber,
) -> Result<bool> {
    let select = Sql::new("SELECT 1 AS value FROM sms_opt_outs WHERE business_id = $1 AND phone_number = $2")
        .bind(business_id)
        .bind(phone.as_str());
    Ok(db.conn().fetch_optional::<i64>(select).await?.is_some())
}

/// A business's texts with one contact, as a list of conversations shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversation {
    pub contact: String,
    pub messages: i64,
    pub last_at: Timestamp,
    pub opted_out: bool,
}

impl crate::record::FromRecord for Conversation {
    fn from_record(row: &dyn crate::record::Record) -> sqlx::Result<Self> {
        Ok(Conversation {
            contact: row.text("contact")?,
            messages: row.int("messages")?,
            last_at: row.time("last_at")?,
            opted_out: row.boolean("opted_out")?,
        })
    }
}

/// The business's conversations, the most recent first (at most `limit`).
pub async fn conversations(
    mut db: impl Connection,
    business_id: BusinessId,
    limit: u32,
) -> Result<Vec<Conversation>> {
    let select = Sql::new(format!(
        "SELECT m.contact, count(*) AS messages, max(m.created_at) AS last_at,
                EXISTS (SELECT 1 FROM sms_opt_outs o WHERE o.business_id = m.business_id AND o.phone_number = m.contact) AS opted_out
         FROM messages m WHERE m.business_id = $1
         GROUP BY m.business_id, m.contact ORDER BY last_at DESC, m.contact LIMIT {limit}"
    ))
    .bind(business_id);
    Ok(db.conn().fetch_all(select).await?)
}
