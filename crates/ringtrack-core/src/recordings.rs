//! A call's audio once it is ours: stored, then transcribed, then the call scored again
//! from its words.

use ringtrack_domain::jobs::{AudioSource, Job};
use ringtrack_domain::{BusinessId, CallId, flow, transcription};
use ringtrack_store::recordings::{self, Recording, TranscriptionResult};
use ringtrack_store::{Store, StoreError, Tx, businesses, call_flows, calls, jobs};

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

/// What the speech model is primed with for a call's audio: the business's name, what the
/// call's flow said (as the call ran it) and the business's terms.
pub async fn prompt(store: &Store, call_id: CallId) -> Result<String, StoreError> {
    let Some(call) = calls::by_id(store, call_id).await? else { return Ok(String::new()) };
    let name = businesses::get(store, call.business_id).await?.map(|b| b.name).unwrap_or_default();
    let terms = businesses::transcription_terms(store, call.business_id).await?;
    let said = match (call.call_flow_id, call.call_flow_version) {
        (Some(flow), Some(version)) => call_flows::version(store, flow, version)
            .await?
            .map(|(_, f)| flow::spoken(&f.steps))
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    Ok(transcription::prompt(&name, &said, &terms))
}

/// Replaces the business's transcription terms (parsed by
/// `ringtrack_domain::transcription::parse_terms`); recordings transcribed from now on are
/// primed with them.
pub async fn set_terms(store: &Store, business_id: BusinessId, terms: &[String]) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    businesses::set_transcription_terms(&mut tx, business_id, terms).await?;
    tx.commit().await
}
