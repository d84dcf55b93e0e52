//! Builds the server's state from configuration: the store, the carrier (sandbox or
//! Twilio dialect) and prices. `serve` and the tests use the same functions.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use ringtrack_api::dni::DniLimits;
use ringtrack_api::rate_limit::{Rate, RateLimiter};
use ringtrack_api::{AppState, Shared};
use ringtrack_carrier::sandbox::DEFAULT_INVENTORY_SIZE;
use ringtrack_carrier::sandbox_call::SandboxCaller;
use ringtrack_carrier::{
    BoxFuture, Carrier, CarrierError, NumberRegistry, SandboxCarrier, TwilioCarrier, TwilioConfig, Webhooks,
};
use ringtrack_domain::jobs::RetryPolicy;
use ringtrack_domain::secrets::Sealer;
use ringtrack_domain::{Cents, PhoneNumber, Prices};
use ringtrack_media::storage::{Recordings, StorageConfig};
use ringtrack_media::transcribe::{OpenAi, SpeechEngine, Whisper};
use ringtrack_store::{Store, numbers};

use crate::cli::{CarrierArgs, CarrierKind, PipelineArgs, ServeArgs, TranscriberKind};
use crate::deliveries::Sender;
use crate::llm::LlmScorer;
use crate::pipeline::Pipeline;
use crate::worker::WorkerConfig;

/// The sandbox's knowledge of which numbers are sold or aging: the numbers table.
pub struct StoreRegistry(pub Store);

impl NumberRegistry for StoreRegistry {
    fn unavailable<'a>(
        &'a self,
        candidates: &'a [PhoneNumber],
    ) -> BoxFuture<'a, Result<std::collections::HashSet<PhoneNumber>, CarrierError>> {
        Box::pin(async move {
            numbers::unavailable(&self.0, candidates, self.0.now())
                .await
                .map_err(|e| CarrierError::Unavailable(e.to_string()))
        })
    }
}

/// The sandbox carrier over `store`, keeping its recordings under the data dir.
/// It reports texts' progress to this server's webhooks, signed with `webhook_token`.
pub fn sandbox_carrier(
    store: &Store,
    data_dir: &Path,
    inventory_size: usize,
    webhook_token: &str,
) -> Arc<dyn Carrier> {
    let registry = Arc::new(StoreRegistry(store.clone()));
    let carrier = SandboxCarrier::with_inventory_size(registry, sandbox_recordings(data_dir), inventory_size);
    Arc::new(carrier.with_delivery_reports(webhook_token))
}

pub fn carrier(
    args: &CarrierArgs,
    store: &Store,
    data_dir: &Path,
    webhook_token: &str,
) -> anyhow::Result<Arc<dyn Carrier>> {
    match args.carrier {
        CarrierKind::Sandbox => {
            if !ringtrack_carrier::sandbox_call::can_speak() {
                tracing::warn!(
                    "espeak-ng is not installed: the sandbox's simulated calls are recorded as a tone, \
                     which transcribes to no words; install espeak-ng (./scripts/run does) to hear them talk"
                );
            }
            Ok(sandbox_carrier(store, data_dir, DEFAULT_INVENTORY_SIZE, webhook_token))
        }
        CarrierKind::Twilio => {
            let (Some(account_sid), Some(auth_token)) = (&args.twilio_account_sid, &args.twilio_auth_token)
            else {
                bail!("--carrier twilio needs RINGTRACK_TWILIO_ACCOUNT_SID and RINGTRACK_TWILIO_AUTH_TOKEN");
            };
            if !(args.twilio_api_base.starts_with("https://") || args.twilio_api_base.starts_with("http://"))
            {
                bail!("--twilio-api-base: {:?} must be an http(s) URL", args.twilio_api_base);
            }
            let config = TwilioConfig {
                account_sid: account_sid.clone(),
                auth_token: auth_token.clone(),
                api_base: args.twilio_api_base.clone(),
            };
            Ok(Arc::new(TwilioCarrier::new(config).context("cannot set up the Twilio client")?))
        }
    }
}

pub fn prices(args: &CarrierArgs) -> anyhow::Result<Prices> {
    let prices = [
        ("--local-number-cents", args.local_number_cents),
        ("--toll-free-number-cents", args.toll_free_number_cents),
        ("--call-minute-cents", args.call_minute_cents),
        ("--sms-segment-cents", args.sms_segment_cents),
    ];
    for (flag, cents) in prices {
        if cents < 0 {
            bail!("{flag}: must not be negative");
        }
    }
    Ok(Prices {
        local: Cents::new(args.local_number_cents),
        toll_free: Cents::new(args.toll_free_number_cents),
        call_minute: Cents::new(args.call_minute_cents),
        sms_segment: Cents::new(args.sms_segment_cents),
    })
}

/// The token carrier webhooks are signed with: the Twilio auth token when one is set;
/// for the sandbox without one, a random token made once and kept in the data dir.
pub fn webhook_token(args: &CarrierArgs, data_dir: &Path) -> anyhow::Result<String> {
    if let Some(token) = &args.twilio_auth_token {
        return Ok(token.clone());
    }
    let path = data_dir.join("sandbox-webhook-token");
    if let Ok(token) = std::fs::read_to_string(&path)
        && !token.trim().is_empty()
    {
        return Ok(token.trim().to_owned());
    }
    let token: String = {
        use rand::Rng;
        let mut rng = rand::rng();
        (0..32).map(|_| format!("{:x}", rng.random_range(0..16u8))).collect()
    };
    write_private(&path, &token)
        .with_context(|| format!("cannot keep the webhook token in {}", path.display()))?;
    Ok(token)
}

/// Writes a secret readable by its owner only.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file =
        std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(contents.as_bytes())
}

/// Every route the server answers: the API's, then the web app's (which sends email
/// through `mailer`).
pub fn app(state: &AppState, mailer: ringtrack_core::mail::Mailer) -> axum::Router {
    let web = ringtrack_web::WebState {
        store: state.store.clone(),
        sealer: state.sealer.clone(),
        recordings: state.recordings.clone(),
        live_streams: ringtrack_web::live_streams(),
        prices: state.prices,
        mailer,
        public_url: state.public_url.clone(),
    };
    ringtrack_api::observed(
        ringtrack_api::router(state.clone()).merge(ringtrack_web::router(web)),
        state.clone(),
    )
}

/// Everything the server's state is made of. `serve` makes it from its configuration and
/// every test from its options; the state is then built whole, nothing patched after.
pub struct AppParts {
    pub store: Store,
    pub carrier: Arc<dyn Carrier>,
    pub prices: Prices,
    pub public_url: String,
    pub webhook_token: String,
    /// Where the sandbox carrier keeps the recordings of the calls it places; `None` when
    /// the carrier is a real one.
    pub sandbox_recordings: Option<PathBuf>,
    pub recordings: Recordings,
    /// Seals secrets at rest: made only from a real key (`sealer`).
    pub sealer: Sealer,
    pub limits: Limits,
    /// Webhook endpoints may be loopback, over plain http:// (local testing only).
    pub allow_http_webhooks: bool,
}

/// This node's limits: API requests per key, carrier webhooks per address, the public DNI
/// endpoints.
pub struct Limits {
    pub api: Rate,
    pub carrier_webhooks: Rate,
    pub dni: DniLimits,
}

impl Limits {
    pub fn from_args(args: &ServeArgs) -> anyhow::Result<Limits> {
        Ok(Limits {
            api: rate("api", args.api_rate, args.api_burst)?,
            carrier_webhooks: rate("carrier-webhook", args.carrier_webhook_rate, args.carrier_webhook_burst)?,
            dni: DniLimits::new(
                rate("dni-ip", args.dni_ip_rate, args.dni_ip_burst)?,
                rate("dni-pool", args.dni_pool_rate, args.dni_pool_burst)?,
                args.dni_leases_per_address,
            ),
        })
    }
}

impl AppParts {
    /// The server's state, whole.
    pub fn build(self) -> AppState {
        let public_url: Arc<str> = Arc::from(self.public_url.trim_end_matches('/'));
        let sandbox = self.sandbox_recordings.map(|recordings| {
            Arc::new(SandboxCaller::new(&self.webhook_token, Webhooks::at(&public_url), recordings))
        });
        AppState::new(Shared {
            store: self.store,
            carrier: self.carrier,
            prices: self.prices,
            public_url,
            webhook_token: Arc::from(self.webhook_token.as_str()),
            sandbox,
            recordings: self.recordings,
            dni_limits: Arc::new(self.limits.dni),
            allow_http_webhooks: self.allow_http_webhooks,
            api_limits: Arc::new(RateLimiter::new(self.limits.api)),
            carrier_limits: Arc::new(RateLimiter::new(self.limits.carrier_webhooks)),
            metrics: Arc::default(),
            sealer: Arc::new(self.sealer),
        })
    }
}

/// Where the sandbox keeps recordings under the data dir.
pub fn sandbox_recordings(data_dir: &Path) -> PathBuf {
    data_dir.join("sandbox").join("recordings")
}

/// The object store recordings are kept in.
pub fn recordings(args: &PipelineArgs, data_dir: &Path) -> anyhow::Result<Recordings> {
    let config = StorageConfig {
        url: args.storage_url.clone(),
        s3_endpoint: args.s3_endpoint.clone(),
        s3_region: args.s3_region.clone(),
        s3_access_key_id: args.s3_access_key_id.clone(),
        s3_secret_access_key: args.s3_secret_access_key.clone(),
        s3_allow_http: args.s3_allow_http,
    };
    Recordings::open(&config, data_dir).context("--storage-url")
}

/// The configured speech-to-text engine. A whisper model named explicitly must exist; the
/// default one may be missing (transcription stays off, with a warning, until
/// `ringtrack models fetch` has run and the server restarts).
pub fn speech_engine(args: &PipelineArgs, data_dir: &Path) -> anyhow::Result<Option<Arc<dyn SpeechEngine>>> {
    Ok(match args.transcriber {
        TranscriberKind::None => None,
        TranscriberKind::Openai => Some(Arc::new(OpenAi::new(
            &args.openai_base_url,
            args.openai_api_key.clone(),
            &args.openai_transcription_model,
        ))),
        TranscriberKind::Whisper => {
            let model = match &args.whisper_model {
                Some(path) => path.clone(),
                None => {
                    let default = ringtrack_media::models::default_model(data_dir);
                    if !default.is_file() {
                        tracing::warn!(
                            model = %default.display(),
                            "no speech model: calls are not transcribed; run `ringtrack models fetch` and restart"
                        );
                        return Ok(None);
                    }
                    default
                }
            };
            tracing::info!(model = %model.display(), "transcribing with whisper.cpp");
            Some(Arc::new(Whisper::load(&model).context("--whisper-model")?))
        }
    })
}

pub fn worker_config(args: &PipelineArgs) -> WorkerConfig {
    WorkerConfig {
        lease: std::time::Duration::from_secs(args.job_lease_seconds.max(1)),
        poll: std::time::Duration::from_millis(args.job_poll_millis.max(10)),
        concurrency: args.workers.max(1),
        retry: RetryPolicy {
            max_attempts: args.job_max_attempts.max(1),
            first_delay: std::time::Duration::from_millis(args.job_retry_millis),
            max_delay: std::time::Duration::from_secs(3600),
        },
    }
}

/// The jobs the workers run: the post-call pipeline and texts to send.
pub fn pipeline(
    args: &PipelineArgs,
    state: &AppState,
    data_dir: &Path,
    mailer: ringtrack_core::mail::Mailer,
) -> anyhow::Result<Pipeline> {
    let speech = speech_engine(args, data_dir)?;
    let llm = args
        .llm_base_url
        .as_deref()
        .map(|url| LlmScorer::new(url, args.llm_api_key.clone(), &args.llm_model));
    Ok(Pipeline::new(
        state.store.clone(),
        state.carrier.clone(),
        state.recordings.clone(),
        speech,
        llm,
        Sender::new(
            &state.public_url,
            args.webhook_retry_scale,
            state.sealer.clone(),
            state.outbound_reach(),
        ),
        mailer,
    ))
}

fn rate(flag: &str, per_second: f64, burst: f64) -> anyhow::Result<Rate> {
    if !(per_second > 0.0 && burst >= 1.0 && per_second.is_finite() && burst.is_finite()) {
        bail!("--{flag}-rate must be above 0 and --{flag}-burst at least 1");
    }
    Ok(Rate { per_second, burst })
}

/// The key secrets are sealed with at rest: `RINGTRACK_SECRET_KEY` (every node of one
/// database needs the same), or one made once and kept in the data dir (mode 0600).
pub fn sealer(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Sealer> {
    if let Some(key) = configured {
        return Sealer::from_base64(key).context("RINGTRACK_SECRET_KEY");
    }
    let path = data_dir.join("secret-key");
    if let Ok(key) = std::fs::read_to_string(&path) {
        return Sealer::from_base64(&key).with_context(|| format!("{}", path.display()));
    }
    let key = Sealer::generate_key();
    write_private(&path, &key)
        .with_context(|| format!("cannot keep the secret key in {}", path.display()))?;
    Ok(Sealer::from_base64(&key).expect("a generated key"))
}
