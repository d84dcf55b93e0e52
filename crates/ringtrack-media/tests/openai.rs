//! The OpenAI-compatible transcription engine against a local stub of
//! `/v1/audio/transcriptions`: what it sends (multipart WAV, model, verbose_json, the
//! business's prompt, bearer key) and how it reads the answer, per channel of a two-channel
//! call.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use ringtrack_media::audio::{self, Audio};
use ringtrack_media::transcribe::{OpenAi, Speaker, transcribe};
use serde_json::json;

/// One request as the stub saw it: the Authorization header, model, response format, the
/// prompt and how many samples the WAV held.
type Request = (String, String, String, String, usize);

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Request>>>);

async fn transcriptions(
    State(seen): State<Seen>,
    headers: HeaderMap,
    mut form: Multipart,
) -> (StatusCode, String) {
    let auth = headers.get("authorization").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let (mut model, mut format, mut prompt, mut wav_bytes) =
        (String::new(), String::new(), String::new(), Vec::new());
    while let Some(field) = form.next_field().await.unwrap() {
        match field.name().unwrap() {
            "model" => model = field.text().await.unwrap(),
            "response_format" => format = field.text().await.unwrap(),
            "prompt" => prompt = field.text().await.unwrap(),
            "file" => wav_bytes = field.bytes().await.unwrap().to_vec(),
            _ => {}
        }
    }
    let decoded = audio::decode(&wav_bytes).expect("a WAV file");
    assert_eq!((decoded.sample_rate, decoded.channels.len()), (16_000, 1));
    seen.0.lock().unwrap().push((auth.clone(), model, format, prompt, decoded.frames()));
    if auth != "Bearer sk-test" {
        return (StatusCode::UNAUTHORIZED, json!({"error": {"message": "bad key"}}).to_string());
    }
    // Loud audio is the caller in this test, quiet the agent.
    let loud = decoded.channels[0].iter().any(|s| s.abs() > 0.4);
    let text = if loud { " I need a plumber." } else { " Acme Plumbing, how can I help?" };
    let body =
        json!({"text": text, "duration": 1.0, "segments": [{"start": 0.25, "end": 1.0, "text": text}]});
    (StatusCode::OK, body.to_string())
}

async fn stub() -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new().route("/v1/audio/transcriptions", post(transcriptions)).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

fn two_channels() -> Audio {
    let rate = 8000;
    let speech =
        |amplitude: f32| -> Vec<f32> { (0..rate).map(|i| amplitude * (i as f32 * 0.05).sin()).collect() };
    // The agent speaks in the first second, the caller in the third.
    let mut caller = vec![0.0; 2 * rate as usize];
    caller.extend(speech(0.8));
    let mut agent = speech(0.2);
    agent.resize(3 * rate as usize, 0.0);
    Audio { sample_rate: rate, channels: vec![caller, agent] }
}

#[tokio::test]
async fn each_channel_is_sent_and_the_segments_come_back_labelled_and_timed() {
    let (base, seen) = stub().await;
    let engine = OpenAi::new(&base, Some("sk-test".into()), "whisper-1");
    let transcript = transcribe(&engine, &two_channels(), "Acme Plumbing, Kohler").await.unwrap();
    assert_eq!(transcript.engine, "openai/whisper-1");
    let got: Vec<(Option<Speaker>, &str)> =
        transcript.segments.iter().map(|s| (s.speaker, s.text.as_str())).collect();
    assert_eq!(
        got,
        [
            (Some(Speaker::Agent), "Acme Plumbing, how can I help?"),
            (Some(Speaker::Caller), "I need a plumber.")
        ]
    );
    // The caller's region starts near 2 s (padded by 0.2 s); the stub's 0.25 s is added to it.
    let caller_start = transcript.segments[1].start;
    assert!((caller_start - 2.05).abs() < 0.05, "{caller_start}");
    let requests = seen.0.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    for (auth, model, format, prompt, _) in &requests {
        assert_eq!(
            (auth.as_str(), model.as_str(), format.as_str(), prompt.as_str()),
            ("Bearer sk-test", "whisper-1", "verbose_json", "Acme Plumbing, Kohler")
        );
    }
}

#[tokio::test]
async fn a_refusal_is_an_error_naming_the_status() {
    let (base, _) = stub().await;
    let engine = OpenAi::new(&base, Some("wrong".into()), "whisper-1");
    let error = transcribe(&engine, &two_channels(), "").await.unwrap_err().to_string();
    assert!(error.contains("401") && error.contains("bad key"), "{error}");
}
