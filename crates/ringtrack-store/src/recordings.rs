//! Recordings kept in the object store, and their transcriptions. The audio itself is in
//! the object store; these rows say where, how big, its digest (the HTTP ETag) and the
//! state of its transcription.

use jiff::Timestamp;
use ringtrack_domain::jobs::AudioSource;
use ringtrack_domain::{BusinessId, CallId};

use serde::Deserialize;

use crate::record::{FromRecord, Record, json_column};
use crate::sql::Sql;
use crate::{Connection, Result, Tx};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recording {
    pub call_id: CallId,
    pub source: AudioSource,
    pub business_id: BusinessId,
    pub object_key: String,
    pub content_type: String,
    pub bytes: i64,
    pub sha256: String,
    pub channels: i64,
    pub duration_ms: i64,
    pub created_at: Timestamp,
}

fn source(row: &dyn Record) -> sqlx::Result<AudioSource> {
    let raw = row.text("source")?;
    AudioSource::parse(&raw).ok_or_else(|| sqlx::Error::Decode(format!("unknown audio source {raw}").into()))
}

impl FromRecord for Recording {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(Recording {
            call_id: row.parsed("call_id")?,
            source: source(row)?,
            business_id: row.parsed("business_id")?,
            object_key: row.text("object_key")?,
            content_type: row.text("content_type")?,
            bytes: row.int("bytes")?,
            sha256: row.text("sha256")?,
            channels: row.int("channels")?,
            duration_ms: row.int("duration_ms")?,
            created_at: row.time("created_at")?,
        })
    }
}

const RECORDING_COLUMNS: &str = "call_id, source, business_id, object_key, content_type, bytes, sha256, channels, duration_ms, created_at";

/// Records that `recording` is stored and marks the call (or voicemail) as having it; its
/// transcription is pending when `transcribe`, else none is expected. Answers false for a
/// repeat for the same audio, which changes nothing.
pub async fn stored(tx: &mut Tx, recording: &Recording, transcribe: bool) -> Result<bool> {
    let insert = Sql::new(format!(
        "INSERT INTO recordings ({RECORDING_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (call_id, source) DO NOTHING"
    ))
    .bind(recording.call_id)
    .bind(recording.source.as_str())
    .bind(recording.business_id)
    .bind(recording.object_key.as_str())
    .bind(recording.content_type.as_str())
    .bind(recording.bytes)
    .bind(recording.sha256.as_str())
    .bind(recording.channels)
    .bind(recording.duration_ms)
    .bind(recording.created_at);
    if tx.conn().execute(insert).await? == 0 {
        return Ok(false);
    }
    // A call has a recording when it has any audio: its conversation or its voicemail.
    let call = Sql::new("UPDATE calls SET has_recording = TRUE, updated_at = $1 WHERE id = $2")
        .bind(tx.now())
        .bind(recording.call_id);
    tx.conn().execute(call).await?;
    if recording.source == AudioSource::Voicemail {
        let voicemail =
            Sql::new("UPDATE voicemails SET has_recording = TRUE WHERE call_id = $1").bind(recording.call_id);
        tx.conn().execute(voicemail).await?;
    }
    if !transcribe {
        // Expected when the recording was announced; this node makes none after all.
        let expected =
            Sql::new("DELETE FROM transcriptions WHERE call_id = $1 AND source = $2 AND status = 'pending'")
                .bind(recording.call_id)
                .bind(recording.source.as_str());
        tx.conn().execute(expected).await?;
    }
    if transcribe {
        set_transcription(
            tx,
            recording.call_id,
            recording.source,
            &TranscriptionResult::Pending,
            recording.business_id,
        )
        .await?;
    }
    Ok(true)
}

/// A call's stored audio, only for its own business: `source`'s, or with `None` the
/// conversation's when there is one, else the voicemail's.
pub async fn get(
    mut db: impl Connection,
    business_id: BusinessId,
    call_id: CallId,
    source: Option<AudioSource>,
) -> Result<Option<Recording>> {
    let mut select = Sql::new(format!(
        "SELECT {RECORDING_COLUMNS} FROM recordings WHERE business_id = $1 AND call_id = $2"
    ))
    .bind(business_id)
    .bind(call_id);
    if let Some(source) = source {
        select.push(" AND source = ").push_bind(source.as_str());
    }
    select.push(CONVERSATION_FIRST);
    Ok(db.conn().fetch_optional(select).await?)
}

/// Orders a call's rows so that the conversation's comes before the voicemail's.
const CONVERSATION_FIRST: &str = " ORDER BY CASE source WHEN 'call' THEN 0 ELSE 1 END LIMIT 1";

/// The recording a job works on (the job knows only the call).
pub async fn of_call(
    mut db: impl Connection,
    call_id: CallId,
    source: AudioSource,
) -> Result<Option<Recording>> {
    let select =
        Sql::new(format!("SELECT {RECORDING_COLUMNS} FROM recordings WHERE call_id = $1 AND source = $2"))
            .bind(call_id)
            .bind(source.as_str());
    Ok(db.conn().fetch_optional(select).await?)
}

#[derive(Clone, Debug, PartialEq)]
pub struct Transcription {
    pub call_id: CallId,
    pub source: AudioSource,
    pub status: String,
    pub engine: Option<String>,
    pub text: Option<String>,
    /// The segments as JSON: `[{"start","end","text","speaker"?}]`.
    pub segments: serde_json::Value,
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One stretch of a transcript.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct Segment {
    /// Seconds from the start of the recording.
    pub start: f64,
    pub end: f64,
    pub text: String,
    /// `caller` or `agent`, on a two-channel recording.
    pub speaker: Option<String>,
}

impl Transcription {
    /// The segments, in order.
    pub fn segments(&self) -> serde_json::Result<Vec<Segment>> {
        Vec::<Segment>::deserialize(&self.segments)
    }
}

impl FromRecord for Transcription {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(Transcription {
            call_id: row.parsed("call_id")?,
            source: source(row)?,
            status: row.text("status")?,
            engine: row.opt_text("engine")?,
            text: row.opt_text("text")?,
            segments: json_column(row, "segments")?,
            error: row.opt_text("error")?,
            created_at: row.time("created_at")?,
            updated_at: row.time("updated_at")?,
        })
    }
}

/// What a transcription job came to.
#[derive(Clone, Debug, PartialEq)]
pub enum TranscriptionResult {
    Pending,
    Completed {
        engine: String,
        text: String,
        segments: serde_json::Value,
    },
    /// Transcribed, and the audio held no words (silence, a tone): no transcript, and the
    /// call does not count as having one.
    NoSpeech {
        engine: String,
    },
    Failed {
        engine: String,
        error: String,
    },
}

/// A transcription is on its way (a recording is expected or announced): `pending` from
/// now, so a client asking before the audio arrives is told so. Never overwrites one.
pub async fn expect_transcription(
    tx: &mut Tx,
    call_id: CallId,
    source: AudioSource,
    business_id: BusinessId,
) -> Result<()> {
    let now = tx.now();
    let insert = Sql::new(
        "INSERT INTO transcriptions (call_id, source, business_id, status, created_at, updated_at)
         VALUES ($1, $2, $3, 'pending', $4, $4) ON CONFLICT (call_id, source) DO NOTHING",
    )
    .bind(call_id)
    .bind(source.as_str())
    .bind(business_id)
    .bind(now);
    tx.conn().execute(insert).await?;
    Ok(())
}

/// Writes a transcription's state; a completed one also sets the call's (or voicemail's)
/// `has_transcription` and the voicemail's `transcription_text`.
pub async fn set_transcription(
    tx: &mut Tx,
    call_id: CallId,
    source: AudioSource,
    result: &TranscriptionResult,
    business_id: BusinessId,
) -> Result<()> {
    let (status, engine, text, segments, error) = match result {
        TranscriptionResult::Pending => ("pending", None, None, "[]".to_owned(), None),
        TranscriptionResult::Completed { engine, text, segments } => {
            ("completed", Some(engine.as_str()), Some(text.as_str()), segments.to_string(), None)
        }
        TranscriptionResult::NoSpeech { engine } => {
            ("no_speech", Some(engine.as_str()), Some(""), "[]".to_owned(), None)
        }
        TranscriptionResult::Failed { engine, error } => {
            ("failed", Some(engine.as_str()), None, "[]".to_owned(), Some(error.as_str()))
        }
    };
    let now = tx.now();
    let upsert = Sql::new(
        "INSERT INTO transcriptions (call_id, source, business_id, status, engine, text, segments, error, created_at,
            updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
         ON CONFLICT (call_id, source) DO UPDATE SET status = excluded.status, engine = excluded.engine,
            text = excluded.text, segments = excluded.segments, error = excluded.error, updated_at = excluded.updated_at",
    )
    .bind(call_id)
    .bind(source.as_str())
    .bind(business_id)
    .bind(status)
    .bind(engine)
    .bind(text)
    .bind(segments)
    .bind(error)
    .bind(now);
    tx.conn().execute(upsert).await?;
    if let TranscriptionResult::Completed { text, .. } = result {
        let call = Sql::new("UPDATE calls SET has_transcription = TRUE, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(call_id);
        tx.conn().execute(call).await?;
        if source == AudioSource::Voicemail {
            let voicemail = Sql::new(
                "UPDATE voicemails SET has_transcription = TRUE, transcription_text = $1 WHERE call_id = $2",
            )
            .bind(text.as_str())
            .bind(call_id);
            tx.conn().execute(voicemail).await?;
        }
    }
    Ok(())
}

const TRANSCRIPTION_COLUMNS: &str =
    "call_id, source, status, engine, text, segments, error, created_at, updated_at";

/// A call's transcription: the conversation's when there is one, else the voicemail's.
pub async fn transcription(
    mut db: impl Connection,
    business_id: BusinessId,
    call_id: CallId,
) -> Result<Option<Transcription>> {
    let select = Sql::new(format!(
        "SELECT {TRANSCRIPTION_COLUMNS} FROM transcriptions WHERE business_id = $1 AND call_id = $2{CONVERSATION_FIRST}"
    ))
    .bind(business_id)
    .bind(call_id);
    Ok(db.conn().fetch_optional(select).await?)
}

/// The text a call's scoring reads: every completed transcription of it, conversation first.
pub async fn transcript_text(mut db: impl Connection, call_id: CallId) -> Result<Option<String>> {
    let select = Sql::new(format!(
        "SELECT {TRANSCRIPTION_COLUMNS} FROM transcriptions WHERE call_id = $1 AND status = 'completed'
         ORDER BY CASE source WHEN 'call' THEN 0 ELSE 1 END"
    ))
    .bind(call_id);
    let found: Vec<Transcription> = db.conn().fetch_all(select).await?;
    let texts: Vec<String> = found.into_iter().filter_map(|t| t.text).collect();
    Ok((!texts.is_empty()).then(|| texts.join("\n")))
}
