//! A call's life: its arrival (recorded, attributed, its flow started), its recording and
//! voicemail announced, its end (the one place that completes a call, whichever door
//! learns it is over — the carrier's final status callback, or the sweep of calls whose
//! callback never came), its score, and a person's verdict on it. The carrier's own
//! dialect (TwiML, callback URLs) stays with the door that speaks it.

use ringtrack_domain::calls::{CallStatus, MAX_CALL_SECONDS};
use ringtrack_domain::engine::{self, CallFacts, CallState, Event, Flow, Instruction, SavedCall};
use ringtrack_domain::jobs::{AudioSource, Job};
use ringtrack_domain::phone::Caller;
use ringtrack_domain::webhooks::EventType;
use ringtrack_domain::{BusinessId, CallId, PhoneNumber, Prices};
use ringtrack_store::calls::{
    self, Call, CallChanges, Completion, NewCall, PastCall, Scored, VisitAttribution,
};
use ringtrack_store::live::{self, Topic};
use ringtrack_store::{StoreError, Tx, businesses, call_flows, jobs, numbers, pools, recordings, webhooks};

use crate::balance;

/// A call arriving at one of our numbers, as the carrier reports it.
pub struct Arrival<'a> {
    pub call_sid: &'a str,
    /// The caller as the carrier wrote it (`anonymous`, `Restricted`, empty … when withheld).
    pub from: &'a str,
    pub to: Option<&'a PhoneNumber>,
    pub caller_city: Option<&'a str>,
    pub caller_state: Option<&'a str>,
    pub caller_zip: Option<&'a str>,
}

/// What became of an arrival.
pub enum Arrived {
    /// The carrier repeated the call's first request: the call it already is.
    Repeated(Call),
    /// The number called is not in service.
    NotInService,
    /// Recorded; its number has no flow, so it is thanked and let go.
    NoFlow(Call),
    /// Recorded, attributed, and its flow started: what the carrier is to do first.
    Started { call: Call, state: CallState, instructions: Vec<Instruction> },
}

/// Records an arriving call (idempotent on its SID) with the attribution of the website
/// visit that was shown the number, if any, and starts its flow's current version; the
/// engine's state is saved in `tx`.
pub async fn arrive(tx: &mut Tx, arrival: &Arrival<'_>) -> Result<Arrived, StoreError> {
    if let Some(existing) = calls::by_sid(&mut *tx, arrival.call_sid).await? {
        return Ok(Arrived::Repeated(existing));
    }
    let number = match arrival.to {
        Some(to) => numbers::in_service(&mut *tx, to).await?,
        None => None,
    };
    let Some(number) = number else { return Ok(Arrived::NotInService) };
    let flow = match number.call_flow_id {
        Some(flow_id) => match call_flows::current_version(&mut *tx, flow_id).await? {
            Some(version) => call_flows::version(&mut *tx, flow_id, version)
                .await?
                .map(|(name, flow)| (flow_id, version, name, flow)),
            None => None,
        },
        None => None,
    };
    let rotation = match &flow {
        Some((flow_id, _, _, f)) if ringtrack_domain::flow::has_round_robin(&f.steps) => {
            call_flows::next_rotation(&mut *tx, *flow_id).await?
        }
        _ => 0,
    };
    // A pool number: the call belongs to the website visit that was shown it.
    let visit = match number.pool_id {
        Some(_) => {
            let now = tx.now();
            pools::session_for_call(&mut *tx, number.id, now).await?
        }
        None => None,
    };
    let utm_source = match &visit {
        Some(v) => v.attribution.utm_source.clone().or_else(|| number.source.clone()),
        None => number.source.clone(),
    };
    let caller = Caller::from_carrier(arrival.from);
    let new = NewCall {
        business_id: number.business_id,
        call_sid: arrival.call_sid.to_owned(),
        number_id: Some(number.id),
        caller_number: caller.as_str().to_owned(),
        caller_withheld: caller.is_withheld(),
        tracking_number: number.phone_number.to_string(),
        call_flow_id: flow.as_ref().map(|f| f.0),
        call_flow_version: flow.as_ref().map(|f| f.1),
        call_flow_name: flow.as_ref().map(|f| f.2.clone()),
        caller_city: arrival.caller_city.map(str::to_owned),
        caller_state: arrival.caller_state.map(str::to_owned),
        caller_zip: arrival.caller_zip.map(str::to_owned),
        utm_source,
        source: number.source.clone(),
        visit: visit.map(|v| VisitAttribution {
            utm_medium: v.attribution.utm_medium,
            utm_campaign: v.attribution.utm_campaign,
            gclid: v.attribution.gclid,
            landing_page: v.landing_page,
            referrer: v.referrer,
            session_id: Some(v.id.to_string()),
        }),
    };
    let saved = SavedCall::new(rotation, number.friendly_name.clone(), CallState::default());
    let call = calls::insert(tx, new, &saved.to_json()).await?;
    live::announce(tx, call.business_id, Topic::Calls).await?;
    tracing::info!(call_id = %call.id, call_sid = arrival.call_sid, number_id = %number.id, "call arrived");
    let Some((_, _, _, flow)) = flow else { return Ok(Arrived::NoFlow(call)) };
    let (state, instructions) = engine::start(&flow, &facts(&call, &saved)?);
    calls::save_state(tx, call.id, &SavedCall { engine: state.clone(), ..saved }.to_json()).await?;
    Ok(Arrived::Started { call, state, instructions })
}

/// A callback of the carrier's that moves a call's flow on.
pub enum Callback {
    /// The keys pressed at a menu (none when it timed out).
    Gather(Option<String>),
    /// A dial ended; `completed` when the agent's leg was connected.
    Dial { completed: bool },
    /// A voicemail was recorded.
    Record { url: Option<String>, seconds: i64, transcribe: bool },
}

impl Callback {
    /// The name its answers are remembered under.
    fn kind(&self) -> &'static str {
        match self {
            Callback::Gather(_) => "gather",
            Callback::Dial { .. } => "dial",
            Callback::Record { .. } => "record",
        }
    }

    /// The engine's event, keeping what the callback tells of the call (a voicemail left).
    async fn event(self, tx: &mut Tx, call: &Call, seq: i64) -> Result<Event, StoreError> {
        Ok(match self {
            Callback::Gather(digits) => Event::Digits(digits),
            Callback::Dial { completed: false } => Event::DialEnded { agent: None },
            Callback::Dial { completed: true } => {
                // Only an agent who accepted (any agent, without press-1) took the call.
                let accepted = calls::event(&mut *tx, call.id, ACCEPTED, seq).await?;
                Event::DialEnded { agent: accepted.and_then(|a| PhoneNumber::parse(&a).ok()) }
            }
            Callback::Record { url, seconds, transcribe } => {
                let audio = seconds > 0 && url.is_some();
                if let (true, Some(url)) = (audio, &url) {
                    voicemail_left(tx, call, url, seconds, transcribe).await?;
                }
                Event::VoicemailRecorded { audio }
            }
        })
    }
}

/// Under which name the agent who took a dial step is remembered.
const ACCEPTED: &str = "accepted";

/// What became of a callback.
pub enum Advanced {
    NoSuchCall,
    /// The carrier repeated a callback: the answer it got the first time.
    Repeated(String),
    /// The call has no flow (it was told goodbye when it arrived).
    NoFlow,
    /// A callback from an earlier step that was never answered: nothing to do.
    Stale,
    /// The flow moved on; `answer` is what the carrier is told. `recovered` when the
    /// call's saved state could not be read (an upgrade mid-call) and the call goes on at
    /// its flow's first destination instead of being hung up on.
    Stepped {
        answer: String,
        recovered: bool,
    },
}

/// Runs one engine step for a call's callback (`seq` the step it answers), once: a
/// repeated callback answers what the first one got. `render` turns the engine's
/// instructions for the call (at its new step) into the carrier's answer, which is
/// remembered with the engine's state in `tx`.
pub async fn advance(
    tx: &mut Tx,
    call_id: CallId,
    seq: i64,
    callback: Callback,
    render: impl FnOnce(&Call, u32, &[Instruction]) -> String,
) -> Result<Advanced, StoreError> {
    let kind = callback.kind();
    let Some(call) = calls::lock(tx, call_id).await? else { return Ok(Advanced::NoSuchCall) };
    if let Some(answer) = calls::event(&mut *tx, call.id, kind, seq).await? {
        return Ok(Advanced::Repeated(answer));
    }
    let Some(saved) = call.engine_state.as_deref() else { return Ok(Advanced::NoFlow) };
    let read = SavedCall::read(saved);
    if read.as_ref().is_ok_and(|stored| i64::from(stored.engine.seq) != seq) {
        return Ok(Advanced::Stale);
    }
    let flow = flow_of(tx, &call).await?.ok_or_else(|| no_flow(&call))?;
    // What the callback tells of the call is kept however it goes on.
    let event = callback.event(tx, &call, seq).await?;
    let recovered = read.is_err();
    let (mut stored, engine_state, instructions) = match read {
        Ok(stored) => {
            let (engine_state, instructions) =
                engine::step(&flow, &facts(&call, &stored)?, stored.engine.clone(), event);
            (stored, engine_state, instructions)
        }
        Err(unreadable) => {
            // Never hang up on a caller for our own upgrade: go on to a safe place.
            tracing::error!(call_id = %call.id, %unreadable, "continuing the call at its flow's first destination");
            let stored =
                SavedCall::new(0, call.tracking_number.clone().unwrap_or_default(), CallState::default());
            let after = u32::try_from(seq).unwrap_or(0);
            let (engine_state, instructions) = engine::recover(&flow, &facts(&call, &stored)?, after);
            (stored, engine_state, instructions)
        }
    };
    let answer = render(&call, engine_state.seq, &instructions);
    stored.engine = engine_state;
    calls::save_state(tx, call.id, &stored.to_json()).await?;
    calls::remember(tx, call.id, kind, seq, &answer).await?;
    Ok(Advanced::Stepped { answer, recovered })
}

fn no_flow(call: &Call) -> StoreError {
    StoreError::Corrupt(format!("call {} has engine state but no flow version", call.id))
}

/// What the agent hears when they answer, before the caller is put through.
pub struct Whisper {
    /// Said to the agent, when the flow whispers.
    pub message: Option<String>,
    /// Whether the agent must press 1 to take the call.
    pub press1: bool,
}

/// The whisper of the flow version the call runs.
pub async fn whisper(tx: &mut Tx, call: &Call) -> Result<Whisper, StoreError> {
    let flow = flow_of(tx, call).await?.ok_or_else(|| no_flow(call))?;
    let saved = call.engine_state.as_deref().and_then(|s| SavedCall::read(s).ok());
    let name = saved.map(|s| s.tracking_name).unwrap_or_default();
    let settings = flow.settings;
    Ok(Whisper {
        message: settings.whisper.then(|| settings.whisper_message.clone().unwrap_or(name)),
        press1: settings.press1,
    })
}

/// `agent` took the call at dial step `seq`: the call is answered (by them).
pub async fn accept(tx: &mut Tx, call: &Call, seq: i64, agent: &PhoneNumber) -> Result<(), StoreError> {
    calls::remember(tx, call.id, ACCEPTED, seq, agent.as_str()).await?;
    let now = tx.now();
    calls::set_answered(tx, call.id, agent, now).await
}

/// The carrier's final word on the call with `call_sid`, over after `duration_seconds`:
/// settled as [`settle`] says. Answers false for a call we do not know, or one already
/// complete.
pub async fn ended(
    tx: &mut Tx,
    prices: &Prices,
    call_sid: &str,
    duration_seconds: i64,
) -> Result<bool, StoreError> {
    let Some(found) = calls::by_sid(&mut *tx, call_sid).await? else { return Ok(false) };
    let Some(call) = calls::lock(tx, found.id).await? else { return Ok(false) };
    settle(tx, prices, &call, duration_seconds).await
}

/// What the engine knows of a call, from its row and its saved state.
pub fn facts(call: &Call, saved: &SavedCall) -> Result<CallFacts, StoreError> {
    let number = |raw: Option<&str>, what: &str| {
        raw.and_then(|r| PhoneNumber::parse(r).ok())
            .ok_or_else(|| StoreError::Corrupt(format!("call {} has no valid {what}", call.id)))
    };
    Ok(CallFacts {
        tracking_number: number(call.tracking_number.as_deref(), "tracking number")?,
        tracking_name: saved.tracking_name.clone(),
        caller_state: call.caller_state.clone(),
        caller_zip: call.caller_zip.clone(),
        at: call.created_at,
        utm_source: call.utm_source.clone(),
        referrer: call.referrer.clone(),
        rotation: saved.rotation,
    })
}

/// Completes `call` (locked in `tx`), which the carrier says is over after
/// `duration_seconds`: its status follows from how far its flow went (a state that cannot
/// be read counts as missed); it joins the roll-ups, is scored from its facts (and again
/// when a transcript arrives), `call.completed` and `call.missed` or `call.voicemail` are
/// sent, its minutes are charged (the balance may go below zero: a call is never refused
/// for a low balance), and a connected call whose flow records has its transcription
/// pending from now (carriers may announce the recording only after the call's end).
/// Answers false when the call was complete already: a repeated final status changes and
/// charges nothing.
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
    let completion =
        Completion { status, duration_seconds, cost: prices.call(duration_seconds), ended_at: tx.now() };
    // The balance is charged last, but its lock comes first, as every balance change's.
    businesses::lock(tx, call.business_id).await?;
    let Some(completed) = calls::mark_complete(tx, call, &completion).await? else { return Ok(false) };
    calls::roll_up(tx, [&completed], 1).await?;
    live::announce(tx, call.business_id, Topic::Calls).await?;
    jobs::enqueue(tx, &Job::Score { call_id: call.id }).await?;
    webhooks::emit(tx, call.business_id, EventType::CallCompleted, call.id).await?;
    let ending = match status {
        CallStatus::Missed => Some(EventType::CallMissed),
        CallStatus::Voicemail => Some(EventType::CallVoicemail),
        CallStatus::Answered | CallStatus::InProgress => None,
    };
    if let Some(ending) = ending {
        webhooks::emit(tx, call.business_id, ending, call.id).await?;
    }
    let reason = format!("call {} ({duration_seconds} s)", call.id);
    balance::charge(tx, call.business_id, completion.cost, &reason).await?;
    if status == CallStatus::Answered && call.recording_url.is_none() && records(tx, call).await? {
        recordings::expect_transcription(tx, call.id, AudioSource::Call, call.business_id).await?;
    }
    tracing::info!(call_id = %call.id, status = status.as_str(), duration = duration_seconds, "call completed");
    Ok(true)
}

/// Whether the flow version the call ran records its conversations.
async fn records(tx: &mut Tx, call: &Call) -> Result<bool, StoreError> {
    Ok(flow_of(tx, call).await?.is_some_and(|flow| flow.settings.recording))
}

/// The flow version the call runs, if it runs one.
pub async fn flow_of(tx: &mut Tx, call: &Call) -> Result<Option<Flow>, StoreError> {
    let (Some(id), Some(version)) = (call.call_flow_id, call.call_flow_version) else { return Ok(None) };
    Ok(call_flows::version(&mut *tx, id, version).await?.map(|(_, flow)| flow))
}

/// The carrier announced the call's recording: its transcription is pending from now, and
/// the audio is fetched (and transcribed) by a job.
pub async fn recording_announced(tx: &mut Tx, call: &Call, url: &str) -> Result<(), StoreError> {
    calls::set_recording_url(tx, call.id, url).await?;
    fetch_audio(tx, call, AudioSource::Call, url, true).await
}

/// The caller left a voicemail of `seconds`: kept in the voicemails list (once), its audio
/// fetched by a job and transcribed if the flow wants it.
pub async fn voicemail_left(
    tx: &mut Tx,
    call: &Call,
    url: &str,
    seconds: i64,
    transcribe: bool,
) -> Result<(), StoreError> {
    if !calls::keep_voicemail(tx, call, url, seconds).await? {
        return Ok(());
    }
    fetch_audio(tx, call, AudioSource::Voicemail, url, transcribe).await
}

/// Queues the fetching of a call's audio at the carrier's `url`; when it is to be
/// transcribed, its transcription is pending from now.
async fn fetch_audio(
    tx: &mut Tx,
    call: &Call,
    source: AudioSource,
    url: &str,
    transcribe: bool,
) -> Result<(), StoreError> {
    if transcribe {
        recordings::expect_transcription(tx, call.id, source, call.business_id).await?;
    }
    let fetch = Job::StoreRecording { call_id: call.id, source, carrier_url: url.to_owned(), transcribe };
    jobs::enqueue(tx, &fetch).await.map(drop)
}

/// Keeps the automatic verdict on a call (`before`, locked in `tx`) and sends
/// `call.scored`; a person's verdict, when given, stays the effective one.
pub async fn score(tx: &mut Tx, before: &Call, scored: &Scored) -> Result<Call, StoreError> {
    let after = calls::set_score(tx, before.id, scored).await?;
    webhooks::emit(tx, before.business_id, EventType::CallScored, before.id).await?;
    live::announce(tx, before.business_id, Topic::Calls).await?;
    recount(tx, before, &after).await?;
    Ok(after)
}

/// A person's changes to a call (verdict, notes, tags); `None` when the business has no
/// such call.
pub async fn change(
    tx: &mut Tx,
    business_id: BusinessId,
    id: CallId,
    changes: CallChanges,
) -> Result<Option<Call>, StoreError> {
    let Some(before) = calls::get(&mut *tx, business_id, id).await? else { return Ok(None) };
    let Some(after) = calls::update(tx, business_id, id, changes).await? else { return Ok(None) };
    live::announce(tx, business_id, Topic::Calls).await?;
    recount(tx, &before, &after).await?;
    Ok(Some(after))
}

/// Moves a call's roll-ups when a change touched what they count (the verdict or the
/// score).
async fn recount(tx: &mut Tx, before: &Call, after: &Call) -> Result<(), StoreError> {
    if (before.qualified, before.ai_score) != (after.qualified, after.ai_score) {
        roll_up_again(tx, before, after).await?;
    }
    Ok(())
}

/// Takes a call out of its roll-ups as it was and puts it back as it is.
async fn roll_up_again(tx: &mut Tx, before: &Call, after: &Call) -> Result<(), StoreError> {
    calls::roll_up(tx, [before], -1).await?;
    calls::roll_up(tx, [after], 1).await
}

/// A simulated call happens in an instant; once complete, it is given the times it would
/// have had: it ends now, began its length before, and was answered `answered_after`
/// seconds in. It never moves to another UTC day (it begins no earlier than the day it
/// ends), so its daily sums stay; but its hour changes, so it is rolled up again, which
/// tells every node's analytics to reload its day.
pub async fn stamp_simulated_times(
    tx: &mut Tx,
    call_id: CallId,
    answered_after: Option<u32>,
) -> Result<(), StoreError> {
    let Some(call) = calls::lock(tx, call_id).await? else { return Ok(()) };
    let Some(ended) = call.ended_at.filter(|_| call.status != CallStatus::InProgress) else { return Ok(()) };
    let day_start = ended.as_second() - ended.as_second().rem_euclid(86_400);
    let began = (ended.as_second() - call.duration_seconds).max(day_start).min(call.created_at.as_second());
    let at =
        |second: i64| jiff::Timestamp::from_second(second).map_err(|e| StoreError::Corrupt(e.to_string()));
    let answered = match (call.answered_at, answered_after) {
        (Some(_), Some(after)) => Some(at((began + i64::from(after)).min(ended.as_second()))?),
        (answered, _) => answered,
    };
    let stamped = Call { created_at: at(began)?, answered_at: answered, ..call.clone() };
    calls::set_times(tx, call.id, stamped.created_at, stamped.answered_at).await?;
    roll_up_again(tx, &call, &stamped).await
}

/// Writes finished calls whole, with their roll-ups (an import, or `ringtrack seed`): no
/// events, jobs or charges, since they are history.
pub async fn import(tx: &mut Tx, past: &[PastCall]) -> Result<(), StoreError> {
    calls::insert_past(tx, past).await?;
    calls::roll_up(tx, past, 1).await
}
