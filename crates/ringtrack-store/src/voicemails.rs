//! Voicemails: a row per voicemail a caller left, with the call's numbers.

use jiff::Timestamp;
use ringtrack_domain::dates::DateRange;
use ringtrack_domain::paging::{Cursor, PageRequest};
use ringtrack_domain::{BusinessId, CallId, NumberId, VoicemailId};

use crate::paging::{Keyed, Page, fetch_page};
use crate::record::{FromRecord, Record};
use crate::sql::Sql;
use crate::{Connection, Result};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Voicemail {
    pub id: VoicemailId,
    pub call_id: CallId,
    pub caller_number: String,
    pub caller_withheld: bool,
    pub tracking_number: Option<String>,
    pub number_id: Option<NumberId>,
    pub duration_seconds: i64,
    pub recording_url: String,
    pub transcription_text: Option<String>,
    pub has_transcription: bool,
    pub has_recording: bool,
    pub created_at: Timestamp,
}

const COLUMNS: &str =
    "v.id, v.call_id, c.caller_number, c.caller_withheld, c.tracking_number, c.number_id, v.duration_seconds,
    v.recording_url, v.transcription_text, v.has_transcription, v.has_recording, v.created_at";
const FROM: &str = "FROM voicemails v JOIN calls c ON c.id = v.call_id";

impl FromRecord for Voicemail {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(Voicemail {
            id: row.parsed("id")?,
            call_id: row.parsed("call_id")?,
            caller_number: row.text("caller_number")?,
            caller_withheld: row.boolean("caller_withheld")?,
            tracking_number: row.opt_text("tracking_number")?,
            number_id: row.opt_parsed("number_id")?,
            duration_seconds: row.int("duration_seconds")?,
            recording_url: row.text("recording_url")?,
            transcription_text: row.opt_text("transcription_text")?,
            has_transcription: row.boolean("has_transcription")?,
            has_recording: row.boolean("has_recording")?,
            created_at: row.time("created_at")?,
        })
    }
}

impl Keyed for Voicemail {
    fn cursor(&self) -> Cursor {
        Cursor { created_at: self.created_at.as_second(), id: self.id.as_uuid() }
    }
}

pub async fn list(
    db: impl Connection,
    business_id: BusinessId,
    range: &DateRange,
    number_id: Option<NumberId>,
    page: &PageRequest,
) -> Result<Page<Voicemail>> {
    let mut from = Sql::new(format!("{FROM} WHERE v.business_id = $1")).bind(business_id);
    if let Some(start) = range.from {
        from.push(" AND v.created_at >= ").push_bind(start);
    }
    if let Some(end) = range.to {
        from.push(" AND v.created_at < ").push_bind(end);
    }
    if let Some(number) = number_id {
        from.push(" AND c.number_id = ").push_bind(number);
    }
    fetch_page(db, COLUMNS, from, "v.", page).await
}

pub async fn get(
    mut db: impl Connection,
    business_id: BusinessId,
    id: VoicemailId,
) -> Result<Option<Voicemail>> {
    let select = Sql::new(format!("SELECT {COLUMNS} {FROM} WHERE v.business_id = $1 AND v.id = $2"))
        .bind(business_id)
        .bind(id);
    Ok(db.conn().fetch_optional(select).await?)
}
