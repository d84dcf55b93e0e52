//! `ringtrack simulate call`: the sandbox carrier places a call to a running server,
//! through its public webhooks, and prints the call's id and the trace of every request
//! and TwiML.

use anyhow::{Context, bail};
use ringtrack_carrier::Webhooks;
use ringtrack_carrier::sandbox_call::{CallScript, SandboxCaller};
use ringtrack_domain::PhoneNumber;

use crate::cli::{SimulateCallArgs, StorageArgs};
use crate::wiring;

pub async fn call(storage: &StorageArgs, args: SimulateCallArgs) -> anyhow::Result<()> {
    let from = PhoneNumber::parse(&args.from)
        .map_err(|_| anyhow::anyhow!("--from: {:?} is not a phone number", args.from))?;
    let to = PhoneNumber::parse(&args.to)
        .map_err(|_| anyhow::anyhow!("--to: {:?} is not a phone number", args.to))?;
    if !(args.public_url.starts_with("http://") || args.public_url.starts_with("https://")) {
        bail!("--public-url: {:?} must be an http(s) URL", args.public_url);
    }
    let token = match args.webhook_token {
        Some(token) => token,
        None => std::fs::read_to_string(storage.data_dir.join("sandbox-webhook-token"))
            .context("no webhook token in the data dir: start `ringtrack serve` with this --data-dir first")?
            .trim()
            .to_owned(),
    };
    let base = args.public_url.trim_end_matches('/');
    let caller =
        SandboxCaller::new(&token, Webhooks::at(base), wiring::sandbox_recordings(&storage.data_dir));
    let script = CallScript {
        from: ringtrack_domain::phone::Caller::Number(from),
        to,
        answer: !args.no_answer,
        agent_accepts: true,
        talk_seconds: args.talk_seconds,
        digits: args.digits,
        voicemail_text: args.voicemail_text,
        conversation: None,
        caller_city: None,
        caller_state: None,
        caller_zip: None,
    };
    let placed = caller.place(&script).await.context("the call failed")?;
    // The call as the server recorded it, when this data dir's database is the server's:
    // its id (what the API's paths take) and the times it would have had.
    let store = storage.open().await?;
    let call = ringtrack_store::calls::by_sid(&store, &placed.call_sid).await?;
    if let Some(call) = &call {
        let mut tx = store.begin().await?;
        ringtrack_core::calls::stamp_simulated_times(&mut tx, call.id, placed.answered_after_seconds).await?;
        tx.commit().await?;
    }
    let mut shown = serde_json::json!({"call_id": call.map(|c| c.id)});
    shown
        .as_object_mut()
        .expect("an object")
        .extend(serde_json::to_value(&placed)?.as_object().cloned().expect("a placed call is an object"));
    println!("{}", serde_json::to_string_pretty(&shown)?);
    Ok(())
}
