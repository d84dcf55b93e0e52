//! A call's end: the one place that completes a call, whichever door learns it is over —
//! the carrier's final status callback, or the sweep of calls whose callback never came.

use ringtrack_domain::Prices;
use ringtrack_domain::calls::{CallStatus, MAX_CALL_SECONDS};
use ringtrack_domain::engine::SavedCall;
use ringtrack_domain::jobs::AudioSource;
use ringtrack_store::calls::{self, Call, Completion};
use ringtrack_store::{StoreError, Tx, call_flows, recordings};

/// Completes `call` (locked in `tx`), which the carrier says is over after
/// `duration_seconds`: its status follows from how far its flow went (a state that cannot
/// be read counts as missed), its minutes are charged, roll-ups, events and jobs follow
/// (`store::calls::complete`), and a connected call whose flow records has its
/// transcription pending from now (carriers may announce the recording only after the
/// call's end). Answers false when the call was complete already.
pub async fn settle(
    tx: &mut Tx,
    prices: &Prices,
    call: &Call,
    duration_seconds: i64,
) -> Result<bool, StoreError> {
    let status = call
        .engine_state
        .as_deref()
        .and_then(|s| SavedCall::read(s).ok())
        .map_or(CallStatus::Missed, |saved| saved.engine.outcome());
    // What a carrier reports is bounded like what its callbacks carry.
    let duration_seconds = duration_seconds.clamp(0, MAX_CALL_SECONDS);
    let completion = Completion {
        status,
        duration_seconds,
        cost: prices.call(duration_seconds),
        ended_at: ringtrack_store::now(),
    };
    let settled = calls::complete(tx, call, &completion).await?;
    if !settled {
        return Ok(false);
    }
    if status == CallStatus::Answered && call.recording_url.is_none() && records(tx, call).await? {
        recordings::expect_transcription(tx, call.id, AudioSource::Call, call.business_id).await?;
    }
    tracing::info!(call_id = %call.id, status = status.as_str(), duration = duration_seconds, "call completed");
    Ok(true)
}

/// Whether the flow version the call ran records its conversations.
async fn records(tx: &mut Tx, call: &Call) -> Result<bool, StoreError> {
    let (Some(id), Some(version)) = (call.call_flow_id, call.call_flow_version) else { return Ok(false) };
    Ok(call_flows::version(&mut *tx, id, version).await?.is_some_and(|(_, flow)| flow.settings.recording))
}
