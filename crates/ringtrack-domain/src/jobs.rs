//! The work that follows a call, as durable jobs: what each job is, the data it carries,
//! and when a failed one is tried again. The store keeps jobs; the binary's workers run
//! them; the carrier webhooks queue them in the transaction of the callback that causes them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{CallId, DeliveryId, MessageId};

fn yes() -> bool {
    true
}

/// Which audio of a call: the conversation, or the voicemail the caller left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AudioSource {
    Call,
    Voicemail,
}

impl AudioSource {
    pub fn as_str(self) -> &'static str {
        match self {
            AudioSource::Call => "call",
            AudioSource::Voicemail => "voicemail",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "call" => Some(AudioSource::Call),
            "voicemail" => Some(AudioSource::Voicemail),
            _ => None,
        }
    }
}

/// A job and its data. Serialized as `{"kind": …, …payload}`; the store keeps the kind in
/// its own column so workers and operators can see it without parsing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Fetch a recording the carrier announced, keep it as MP3, then queue its transcription
    /// and its deletion at the carrier.
    StoreRecording {
        call_id: CallId,
        source: AudioSource,
        carrier_url: String,
        /// The flow's choice (a voicemail step may turn transcription off).
        #[serde(default = "yes")]
        transcribe: bool,
    },
    /// Delete a recording at the carrier, now that it is stored.
    DeleteCarrierRecording { call_id: CallId, carrier_url: String },
    /// Transcribe stored audio, then queue the call's scoring.
    Transcribe { call_id: CallId, source: AudioSource },
    /// Score the call from its facts and whatever transcript it has.
    Score { call_id: CallId },
    /// Hand an outbound text to the carrier.
    SendSms { message_id: MessageId },
    /// One attempt at delivering a webhook event to an endpoint.
    DeliverWebhook { delivery_id: DeliveryId, attempt: u32 },
    /// Mail a link that sets a new password, if the address has an account (queued so
    /// that asking takes the same time whether it has one or not).
    SendPasswordReset { email: String },
}

impl Job {
    pub fn kind(&self) -> &'static str {
        match self {
            Job::StoreRecording { .. } => "store_recording",
            Job::DeleteCarrierRecording { .. } => "delete_carrier_recording",
            Job::Transcribe { .. } => "transcribe",
            Job::Score { .. } => "score",
            Job::SendSms { .. } => "send_sms",
            Job::DeliverWebhook { .. } => "deliver_webhook",
            Job::SendPasswordReset { .. } => "send_password_reset",
        }
    }

    /// Two enqueues with the same key are one job: a carrier repeating a callback, or a
    /// completion and a recording both asking for the same step, queue it once.
    /// Scoring has none: a call is scored again when its transcript arrives.
    pub fn dedupe_key(&self) -> Option<String> {
        match self {
            Job::StoreRecording { call_id, source, .. } => {
                Some(format!("store:{call_id}:{}", source.as_str()))
            }
            Job::DeleteCarrierRecording { carrier_url, .. } => Some(format!("delete:{carrier_url}")),
            Job::Transcribe { call_id, source } => Some(format!("transcribe:{call_id}:{}", source.as_str())),
            Job::Score { .. } | Job::SendPasswordReset { .. } => None,
            Job::SendSms { message_id } => Some(format!("sms:{message_id}")),
            Job::DeliverWebhook { delivery_id, attempt } => Some(format!("webhook:{delivery_id}:{attempt}")),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("jobs serialize")
    }

    pub fn from_json(raw: &str) -> Result<Job, serde_json::Error> {
        serde_json::from_str(raw)
    }
}

/// How often and how patiently a failing job is tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The wait after the first failure; it doubles with each further failure…
    pub first_delay: Duration,
    /// …up to this.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            first_delay: Duration::from_secs(10),
            max_delay: Duration::from_secs(3600),
        }
    }
}

impl RetryPolicy {
    /// After `attempts` failed attempts: the wait before the next, or `None` when the job
    /// has had all it may.
    pub fn next_delay(&self, attempts: u32) -> Option<Duration> {
        if attempts >= self.max_attempts {
            return None;
        }
        let doublings = attempts.saturating_sub(1).min(30);
        Some(self.first_delay.saturating_mul(1 << doublings).min(self.max_delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_round_trip_through_json_with_their_kind() {
        let job = Job::StoreRecording {
            call_id: CallId::new(),
            source: AudioSource::Voicemail,
            carrier_url: "sandbox:RE1".into(),
            transcribe: false,
        };
        let json = job.to_json();
        assert!(json.contains(r#""kind":"store_recording""#), "{json}");
        assert_eq!(Job::from_json(&json).unwrap(), job);
        assert!(Job::from_json(r#"{"kind":"launch_rockets"}"#).is_err());
        // Jobs queued before the flag existed transcribe.
        let old = r#"{"kind":"store_recording","call_id":"00000000-0000-0000-0000-000000000000","source":"call","carrier_url":"u"}"#;
        assert!(matches!(Job::from_json(old).unwrap(), Job::StoreRecording { transcribe: true, .. }));
    }

    #[test]
    fn repeated_steps_share_a_dedupe_key_and_scoring_has_none() {
        let call_id = CallId::new();
        let store = |source, url: &str| Job::StoreRecording {
            call_id,
            source,
            carrier_url: url.into(),
            transcribe: true,
        };
        let (a, b) = (store(AudioSource::Call, "u1"), store(AudioSource::Call, "u2"));
        let voicemail = store(AudioSource::Voicemail, "u1");
        assert_eq!(a.dedupe_key(), b.dedupe_key());
        assert_ne!(a.dedupe_key(), voicemail.dedupe_key());
        assert_eq!(Job::Score { call_id }.dedupe_key(), None);
    }

    #[test]
    fn retries_back_off_exponentially_up_to_a_ceiling_then_stop() {
        let policy = RetryPolicy {
            max_attempts: 5,
            first_delay: Duration::from_secs(10),
            max_delay: Duration::from_secs(60),
        };
        let delays: Vec<_> = (1..=5).map(|n| policy.next_delay(n).map(|d| d.as_secs())).collect();
        assert_eq!(delays, [Some(10), Some(20), Some(40), Some(60), None]);
        assert_eq!(RetryPolicy { max_attempts: 100, ..policy }.next_delay(99), Some(Duration::from_secs(60)));
    }
}
