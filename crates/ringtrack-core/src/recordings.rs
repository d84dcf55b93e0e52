//! A call's audio once it is ours: stored, then transcribed, then the call scored again
//! from its words.

use ringtrack_domain::jobs::{AudioSource, Job};
use ringtrack_domain::{BusinessId, CallId};
use ringtrack_store::recordings::{self, Recording, TranscriptionResult};
use ringtrack_store::{StoreError, Tx, jobs};

/// The audio is in storage: the call (or its voicemail) has a recording, and its
/// transcription is queued when `transcribe`. A repeat for the same audio changes nothing.
pub async fn stored(tx: &mut Tx, recording: &Recording, transcribe: bool) -> Result<(), StoreError> {
    if recordings::stored(tx, recording, transcribe).await? && transcribe {
        jobs::enqueue(tx, &Job::Transcribe { call_id: recording.call_id, source: recording.source }).await?;
    }
    Ok(())
}

/// The transcription of a call's audio ended (`result`); a transcript scores the call
/// again, from its words.
pub async fn transcribed(
    tx: &mut Tx,
    call_id: CallId,
    source: AudioSource,
    result: &TranscriptionResult,
    business_id: BusinessId,
) -> Result<(), StoreError> {
    recordings::set_transcription(tx, call_id, source, result, business_id).await?;
    if matches!(result, TranscriptionResult::Completed { .. }) {
        jobs::enqueue(tx, &Job::Score { call_id }).await?;
    }
    Ok(())
}
