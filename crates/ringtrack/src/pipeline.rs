//! What each post-call job does: keep the recording, delete it at the carrier, transcribe
//! it, score the call. Every job's effects and its completion commit in one transaction;
//! work done before that (a download, a transcription) is repeated if the job is retried,
//! which is harmless because nothing was written.

use std::sync::Arc;

use bytes::Bytes;
use ringtrack_carrier::{Carrier, CarrierError, OutboundSms, Webhooks};
use ringtrack_core::calls as core_calls;
use ringtrack_core::mail::Mailer;
use ringtrack_core::recordings as core_recordings;
use ringtrack_core::{team, texts};
use ringtrack_domain::calls::CallStatus;
use ringtrack_domain::jobs::{AudioSource, Job};
use ringtrack_domain::scoring::{self, CallFacts, CallOutcome, Engine, RuleScorer, Scorer};
use ringtrack_domain::sms::Status as SmsStatus;
use ringtrack_domain::{CallId, DeliveryId, MessageId, PhoneNumber};
use ringtrack_media::audio;
use ringtrack_media::storage::Recordings;
use ringtrack_media::transcribe::{self, SpeechEngine};
use ringtrack_store::jobs::Claimed;
use ringtrack_store::recordings::{self, Recording, TranscriptionResult};
use ringtrack_store::{Store, calls, messages, webhooks};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::deliveries::{self, Sender};
use crate::llm::LlmScorer;

/// Why a job did not finish.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth trying again later (the carrier, the store or the model failed).
    #[error("{0}")]
    Retry(String),
    /// Another worker holds the job now; this one's work is dropped.
    #[error("the job's lease was lost")]
    LeaseLost,
}

impl From<ringtrack_store::StoreError> for JobError {
    fn from(e: ringtrack_store::StoreError) -> Self {
        JobError::Retry(format!("store: {e}"))
    }
}

fn retry(what: &str) -> impl Fn(&dyn std::fmt::Display) -> JobError + '_ {
    move |e| JobError::Retry(format!("{what}: {e}"))
}

pub struct Pipeline {
    pub store: Store,
    pub carrier: Arc<dyn Carrier>,
    pub recordings: Recordings,
    /// `None` when transcription is off.
    pub speech: Option<Arc<dyn SpeechEngine>>,
    pub llm: Option<LlmScorer>,
    /// This server's webhooks, where the carrier reports texts sent.
    pub hooks: Webhooks,
    pub webhooks: Sender,
    /// Sends password-reset links.
    pub mailer: Mailer,
    /// Transcriptions use every core: one at a time.
    transcribing: Semaphore,
}

impl Pipeline {
    pub fn new(
        store: Store,
        carrier: Arc<dyn Carrier>,
        recordings: Recordings,
        speech: Option<Arc<dyn SpeechEngine>>,
        llm: Option<LlmScorer>,
        webhooks: Sender,
        mailer: Mailer,
    ) -> Pipeline {
        Pipeline {
            store,
            carrier,
            recordings,
            speech,
            llm,
            hooks: Webhooks::at(webhooks.public_url()),
            webhooks,
            mailer,
            transcribing: Semaphore::new(1),
        }
    }

    pub async fn run(&self, claimed: &Claimed, job: &Job) -> Result<(), JobError> {
        match job {
            Job::StoreRecording { call_id, source, carrier_url, transcribe } => {
                self.store_recording(claimed, *call_id, *source, carrier_url, *transcribe).await
            }
            Job::DeleteCarrierRecording { carrier_url, .. } => {
                self.carrier.delete_recording(carrier_url.clone()).await.map_err(|e| retry("carrier")(&e))?;
                self.done(claimed).await
            }
            Job::Transcribe { call_id, source } => self.transcribe(claimed, *call_id, *source).await,
            Job::Score { call_id } => self.score(claimed, *call_id).await,
            Job::SendSms { message_id } => self.send_sms(claimed, *message_id).await,
            Job::DeliverWebhook { delivery_id, attempt } => {
                self.deliver_webhook(claimed, *delivery_id, *attempt).await
            }
            Job::SendPasswordReset { email } => {
                let public_url = self.webhooks.public_url();
                team::send_password_reset(&self.store, &self.mailer, public_url, email)
                    .await
                    .map_err(|e| retry("password reset")(&e))?;
                self.done(claimed).await
            }
        }
    }

    async fn deliver_webhook(
        &self,
        claimed: &Claimed,
        delivery_id: DeliveryId,
        attempt: u32,
    ) -> Result<(), JobError> {
        let Some((delivery, endpoint, event, deleted)) =
            webhooks::for_attempt(&self.store, delivery_id).await?
        else {
            return self.done(claimed).await;
        };
        if !deliveries::due(&delivery, attempt) {
            return self.done(claimed).await;
        }
        let attempted = if deleted || !endpoint.active {
            deliveries::Attempted {
                status_code: None,
                error: Some("the endpoint is disabled or deleted".into()),
                latency: std::time::Duration::ZERO,
                outcome: webhooks::Outcome::Failed,
            }
        } else {
            self.webhooks.attempt(&self.store, &endpoint, &event, attempt).await.map_err(JobError::Retry)?
        };
        tracing::info!(%delivery_id, event = event.event_type.as_str(), attempt, status = ?attempted.status_code,
            outcome = ?attempted.outcome, "webhook attempt");
        self.finish(claimed, move |tx| {
            Box::pin(async move {
                webhooks::record_attempt(
                    tx,
                    &delivery,
                    &endpoint,
                    attempt,
                    attempted.status_code,
                    attempted.latency,
                    attempted.error.as_deref(),
                    attempted.outcome,
                    ringtrack_domain::webhooks::DISABLE_AFTER,
                )
                .await
            })
        })
        .await
    }

    /// The job has had all its attempts: leave a trace where users look.
    pub async fn gave_up(&self, job: &Job, error: &str) -> Result<(), ringtrack_store::StoreError> {
        if let Job::SendSms { message_id } = job
            && let Some(message) = messages::by_id(&self.store, *message_id).await?
        {
            let mut tx = self.store.begin().await?;
            texts::not_sent(&mut tx, &message, error).await?;
            tx.commit().await?;
        }
        if let Job::Transcribe { call_id, source } = job
            && let Some(call) = calls::by_id(&self.store, *call_id).await?
        {
            let engine = self.speech.as_ref().map_or_else(|| "none".into(), |s| s.name());
            let failed = TranscriptionResult::Failed { engine, error: error.to_owned() };
            let mut tx = self.store.begin().await?;
            core_recordings::transcribed(&mut tx, *call_id, *source, &failed, call.business_id).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Completes a job that has nothing to write (already done, or nothing left to do).
    async fn done(&self, claimed: &Claimed) -> Result<(), JobError> {
        self.finish(claimed, |_| Box::pin(async { Ok(()) })).await
    }

    /// Commits `effects` together with the job's completion, or nothing if the lease was lost.
    async fn finish<F>(&self, claimed: &Claimed, effects: F) -> Result<(), JobError>
    where
        F: for<'t> FnOnce(
            &'t mut ringtrack_store::Tx,
        ) -> std::pin::Pin<
            Box<dyn Future<Output = Result<(), ringtrack_store::StoreError>> + Send + 't>,
        >,
    {
        let mut tx = self.store.begin().await?;
        effects(&mut tx).await?;
        if !ringtrack_store::jobs::complete(&mut tx, claimed).await? {
            return Err(JobError::LeaseLost);
        }
        tx.commit().await?;
        Ok(())
    }

    async fn store_recording(
        &self,
        claimed: &Claimed,
        call_id: CallId,
        source: AudioSource,
        carrier_url: &str,
        transcribe: bool,
    ) -> Result<(), JobError> {
        let Some(call) = calls::by_id(&self.store, call_id).await? else {
            return self.done(claimed).await;
        };
        let fetched =
            self.carrier.fetch_recording(carrier_url.to_owned()).await.map_err(|e| retry("carrier")(&e))?;
        // Decode whatever came (WAV or MP3): it proves the audio whole, gives its length,
        // and WAV becomes MP3 for keeping.
        let (mp3, decoded) = tokio::task::spawn_blocking(move || {
            let decoded = audio::decode(&fetched.bytes)?;
            let mp3 =
                if fetched.bytes.starts_with(b"RIFF") { audio::encode_mp3(&decoded)? } else { fetched.bytes };
            Ok::<_, audio::AudioError>((mp3, decoded))
        })
        .await
        .map_err(|e| retry("audio")(&e))?
        .map_err(|e| retry("audio")(&e))?;
        let key = format!("{}/{}/{}.mp3", call.business_id, call.id, source.as_str());
        let digest: String = Sha256::digest(&mp3).iter().map(|b| format!("{b:02x}")).collect();
        let size = mp3.len() as i64;
        self.recordings.put(&key, Bytes::from(mp3)).await.map_err(|e| retry("storage")(&e))?;
        let recording = Recording {
            call_id,
            source,
            business_id: call.business_id,
            object_key: key,
            content_type: audio::MP3.into(),
            bytes: size,
            sha256: digest,
            channels: decoded.channels.len() as i64,
            duration_ms: decoded.duration_ms() as i64,
            created_at: self.store.now(),
        };
        let transcribe = transcribe && self.speech.is_some();
        let delete = Job::DeleteCarrierRecording { call_id, carrier_url: carrier_url.to_owned() };
        tracing::info!(%call_id, source = source.as_str(), bytes = size, "recording stored");
        self.finish(claimed, move |tx| {
            Box::pin(async move {
                core_recordings::stored(tx, &recording, transcribe).await?;
                // Deleted at the carrier only now that it is safely kept here.
                ringtrack_store::jobs::enqueue(tx, &delete).await.map(drop)
            })
        })
        .await
    }

    async fn transcribe(
        &self,
        claimed: &Claimed,
        call_id: CallId,
        source: AudioSource,
    ) -> Result<(), JobError> {
        let Some(engine) = &self.speech else {
            return self.done(claimed).await;
        };
        let Some(recording) = recordings::of_call(&self.store, call_id, source).await? else {
            return self.done(claimed).await;
        };
        let bytes = self.recordings.get(&recording.object_key).await.map_err(|e| retry("storage")(&e))?;
        let decoded = tokio::task::spawn_blocking(move || audio::decode(&bytes))
            .await
            .map_err(|e| retry("audio")(&e))?
            .map_err(|e| retry("audio")(&e))?;
        let prompt = core_recordings::prompt(&self.store, call_id).await?;
        let transcript = {
            let _turn = self.transcribing.acquire().await.expect("never closed");
            let started = std::time::Instant::now();
            let transcript = transcribe::transcribe(engine.as_ref(), &decoded, &prompt)
                .await
                .map_err(|e| retry("transcription")(&e))?;
            tracing::info!(
                %call_id,
                engine = transcript.engine,
                audio_ms = decoded.duration_ms(),
                took_ms = started.elapsed().as_millis() as u64,
                "transcribed"
            );
            transcript
        };
        let result = if transcript.text.trim().is_empty() {
            tracing::info!(%call_id, "the recording holds no speech");
            TranscriptionResult::NoSpeech { engine: transcript.engine }
        } else {
            TranscriptionResult::Completed {
                engine: transcript.engine,
                text: transcript.text,
                segments: serde_json::to_value(&transcript.segments).expect("segments serialize"),
            }
        };
        let business = recording.business_id;
        self.finish(claimed, move |tx| {
            Box::pin(
                async move { core_recordings::transcribed(tx, call_id, source, &result, business).await },
            )
        })
        .await
    }

    async fn send_sms(&self, claimed: &Claimed, message_id: MessageId) -> Result<(), JobError> {
        let message = match messages::by_id(&self.store, message_id).await? {
            // Already handed over (a retry after the carrier answered), or gone.
            Some(m) if m.carrier_sid.is_none() && m.status == SmsStatus::Queued => m,
            _ => return self.done(claimed).await,
        };
        let parse =
            |n: &str| PhoneNumber::parse(n).map_err(|e| JobError::Retry(format!("stored number {n}: {e}")));
        let sms = OutboundSms {
            from: parse(&message.from)?,
            to: parse(&message.to)?,
            body: message.body.clone(),
            status_callback: self.hooks.sms_status_callback.clone(),
        };
        match self.carrier.send_sms(sms).await {
            Ok(sent) => {
                let status = SmsStatus::from_carrier(&sent.status).unwrap_or(SmsStatus::Queued);
                tracing::info!(%message_id, carrier_sid = sent.carrier_sid, "text handed to the carrier");
                self.finish(claimed, move |tx| {
                    Box::pin(
                        async move { messages::accepted(tx, message_id, &sent.carrier_sid, status).await },
                    )
                })
                .await
            }
            Err(CarrierError::Unavailable(e)) => Err(JobError::Retry(format!("carrier: {e}"))),
            // Refused for good (an invalid or unreachable number): failed, the cost refunded.
            Err(refused) => {
                let error = match &refused {
                    CarrierError::Refused { message, code: Some(code) } => format!("{code}: {message}"),
                    other => other.to_string(),
                };
                tracing::warn!(%message_id, error, "the carrier refused a text");
                self.finish(claimed, move |tx| {
                    Box::pin(async move { texts::not_sent(tx, &message, &error).await })
                })
                .await
            }
        }
    }

    async fn score(&self, claimed: &Claimed, call_id: CallId) -> Result<(), JobError> {
        let Some(call) = calls::by_id(&self.store, call_id).await? else {
            return self.done(claimed).await;
        };
        let settings = ringtrack_store::scoring::get(&self.store, call.business_id).await?;
        let transcript = recordings::transcript_text(&self.store, call_id).await?;
        let facts = CallFacts {
            status: match call.status {
                CallStatus::Answered => CallOutcome::Answered,
                CallStatus::Voicemail => CallOutcome::Voicemail,
                CallStatus::Missed | CallStatus::InProgress => CallOutcome::Missed,
            },
            duration_seconds: call.duration_seconds,
            first_time_caller: call.first_time_caller,
            paid: ringtrack_domain::dni::is_paid([&call.gclid], call.utm_medium.as_deref()),
        };
        let rules = || RuleScorer.score(&facts, transcript.as_deref(), &settings);
        let score = match (&self.llm, settings.engine) {
            (Some(llm), Engine::Llm) => match llm.score(&facts, transcript.as_deref()).await {
                Ok(score) => score,
                Err(error) => {
                    tracing::warn!(%call_id, %error, "the LLM scorer failed; scoring by the rules");
                    rules()
                }
            },
            _ => rules(),
        };
        let scored = calls::Scored {
            ai_score: i64::from(score.score),
            ai_category: score.category.as_str().into(),
            ai_reasons: score.reasons,
            qualified_auto: scoring::qualifies(&facts, Some(score.score), &settings),
        };
        self.finish(claimed, move |tx| {
            Box::pin(async move {
                // Locked, so a person's verdict given meanwhile is not lost.
                let Some(current) = calls::lock(tx, call_id).await? else { return Ok(()) };
                core_calls::score(tx, &current, &scored).await.map(drop)
            })
        })
        .await
    }
}
