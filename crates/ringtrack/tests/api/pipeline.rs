//! After the call, on both backends: the recording fetched from the carrier and kept as
//! MP3, deleted at the carrier, transcribed offline by whisper.cpp, and the call scored.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::{Method, StatusCode, header};
use ringtrack_media::storage::{Recordings, StorageError};
use ringtrack_media::transcribe::{BoxFuture as TranscribeFuture, Segment, SpeechEngine, TranscribeError};
use ringtrack_store::test_on_both_backends;
use serde_json::{Value, json};

use crate::calls::{number_with_flow, place};
use crate::common::{FaultyCarrier, TestApp, assert_error, body, s3_bucket, whisper};

const VOICEMAIL: &str = "Hi, this is John. My furnace stopped working and I need a repair. \
                         Please call me back to schedule an appointment tomorrow morning.";

const CONVERSATION: &str = "Agent: Thanks for calling Acme Heating, how can I help you?\n\
                            Caller: My water heater is leaking. How much would a repair cost?\n\
                            Agent: We can come out tomorrow morning. You're all set, see you then.";

async fn voicemail_number(app: &TestApp) -> String {
    number_with_flow(app, json!([{"type": "voicemail", "message": "Leave a message"}]), json!({})).await
}

async fn answered_number(app: &TestApp) -> String {
    number_with_flow(
        app,
        json!([{"type": "forward", "number": "(305) 555-4567"}]),
        json!({"recording": true}),
    )
    .await
}

async fn json_of(app: &TestApp, path: &str) -> Value {
    let response = app.get(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    body(response).await["data"].clone()
}

fn sandbox_files(app: &TestApp) -> usize {
    let dir = ringtrack::wiring::sandbox_recordings(app.data_dir());
    std::fs::read_dir(dir).map_or(0, Iterator::count)
}

/// A speech engine that hears the same words in any audio.
struct Parrot;

impl SpeechEngine for Parrot {
    fn name(&self) -> String {
        "parrot".into()
    }
    fn channel(
        &self,
        _samples: Vec<f32>,
        _prompt: &str,
    ) -> TranscribeFuture<'_, Result<Vec<Segment>, TranscribeError>> {
        Box::pin(async {
            Ok(vec![Segment { start: 0.0, end: 1.0, text: "call me back".into(), speaker: None }])
        })
    }
}

/// A speech engine that hears no words in any audio (a tone, silence).
struct Deaf;

impl SpeechEngine for Deaf {
    fn name(&self) -> String {
        "deaf".into()
    }
    fn channel(
        &self,
        _samples: Vec<f32>,
        _prompt: &str,
    ) -> TranscribeFuture<'_, Result<Vec<Segment>, TranscribeError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// A speech engine that hears what it was primed with.
struct Primed;

impl SpeechEngine for Primed {
    fn name(&self) -> String {
        "primed".into()
    }
    fn channel(
        &self,
        _samples: Vec<f32>,
        prompt: &str,
    ) -> TranscribeFuture<'_, Result<Vec<Segment>, TranscribeError>> {
        let text = prompt.to_owned();
        Box::pin(async move { Ok(vec![Segment { start: 0.0, end: 1.0, text, speaker: None }]) })
    }
}

test_on_both_backends! {
    async fn the_business_its_flows_words_and_its_terms_prime_the_transcription(backend: Backend) {
        let mut app = TestApp::spawn(backend).await;
        let empty = json_of(&app, "/api/v1/transcription/terms").await;
        assert_eq!(empty, json!({"terms": []}));
        let set = app.put("/api/v1/transcription/terms", &json!({"terms": ["Kohler", " Rheem ", "Kohler", "Jefferson City"]})).await;
        assert_eq!(set.status(), StatusCode::OK);
        assert_eq!(body(set).await["data"], json!({"terms": ["Kohler", "Rheem", "Jefferson City"]}));
        let refused = app.put("/api/v1/transcription/terms", &json!({"terms": ["ok", "", "x".repeat(51)]})).await;
        assert_error(refused, 422, "validation_failed", &["terms[1]", "terms[2]"]).await;
        let too_many: Vec<String> = (0..101).map(|i| format!("term {i}")).collect();
        let refused = app.put("/api/v1/transcription/terms", &json!({"terms": too_many})).await;
        assert_error(refused, 422, "validation_failed", &["terms"]).await;
        assert_eq!(json_of(&app, "/api/v1/transcription/terms").await["terms"], json!(["Kohler", "Rheem", "Jefferson City"]), "a refusal changes nothing");

        let tracking = number_with_flow(&app, json!([
            {"type": "greeting", "message": "Thanks for calling Acme Plumbing"},
            {"type": "forward", "number": "(305) 555-4567"}]), json!({"recording": true})).await;
        let placed = place(&app, json!({"from": "+13055550113", "to": tracking, "talk_seconds": 20})).await;
        app.start_worker(Some(Arc::new(Primed)), 50);
        app.drain_jobs().await;
        let path = format!("/api/v1/calls/{}/transcription", placed["call_id"].as_str().unwrap());
        let heard = json_of(&app, &path).await["transcription"]["text"].as_str().unwrap_or_default().to_owned();
        let name = ringtrack_store::businesses::get(&app.store, app.business).await.unwrap().unwrap().name;
        // Every speech region of both channels (caller and agent) is primed alike.
        let primed = format!("{name}. Thanks for calling Acme Plumbing. Kohler, Rheem, Jefferson City.");
        for speaker in ["Agent: ", "Caller: "] {
            assert!(heard.lines().any(|line| line.starts_with(speaker)), "{speaker}{heard}");
        }
        assert!(heard.lines().all(|line| line.ends_with(&primed)), "{heard}");
        app.stop().await;
    }

    async fn audio_without_words_is_no_speech_not_an_empty_transcript(backend: Backend) {
        let mut app = TestApp::spawn(backend).await;
        let tracking = answered_number(&app).await;
        let placed = place(&app, json!({"from": "+13055550112", "to": tracking, "talk_seconds": 30})).await;
        app.start_worker(Some(Arc::new(Deaf)), 50);
        app.drain_jobs().await;
        let path = format!("/api/v1/calls/{}", placed["call_id"].as_str().unwrap());
        let call = json_of(&app, &path).await;
        assert_eq!((call["has_recording"].as_bool(), call["has_transcription"].as_bool()), (Some(true), Some(false)), "{call}");
        let t = json_of(&app, &format!("{path}/transcription")).await["transcription"].clone();
        assert_eq!((t["status"].as_str(), t["engine"].as_str(), t["text"].as_str()), (Some("no_speech"), Some("deaf"), Some("")), "{t}");
        app.stop().await;
    }

    async fn a_voicemail_step_can_turn_transcription_off(backend: Backend) {
        let mut app = TestApp::spawn(backend).await;
        app.start_worker(Some(Arc::new(Parrot)), 50);
        let quiet = number_with_flow(&app, json!([{"type": "voicemail", "transcribe": false}]), json!({})).await;
        let placed = place(&app, json!({"from": "+13055550108", "to": quiet, "voicemail_text": "Call me back."})).await;
        let heard = voicemail_number(&app).await;
        let transcribed = place(&app, json!({"from": "+13055550109", "to": heard, "voicemail_text": "Call me back."})).await;
        app.drain_jobs().await;
        let path = |placed: &Value| format!("/api/v1/calls/{}", placed["call_id"].as_str().unwrap());
        let call = json_of(&app, &path(&placed)).await;
        assert_eq!((call["has_recording"].as_bool(), call["has_transcription"].as_bool()), (Some(true), Some(false)));
        assert_error(app.get(&format!("{}/transcription", path(&placed))).await, 404, "not_found", &[]).await;
        let t = json_of(&app, &format!("{}/transcription", path(&transcribed))).await;
        assert_eq!((t["transcription"]["engine"].as_str(), t["transcription"]["text"].as_str()), (Some("parrot"), Some("call me back")));
        app.stop().await;
    }

    async fn a_recorded_call_says_pending_until_its_transcript_is_made(backend: Backend) {
        let mut app = TestApp::spawn(backend).await;
        let tracking = answered_number(&app).await;
        let placed = place(&app, json!({"from": "+13055550110", "to": tracking, "talk_seconds": 30})).await;
        let path = format!("/api/v1/calls/{}/transcription", placed["call_id"].as_str().unwrap());
        // The call is over and its recording announced; nothing has fetched it yet.
        let waiting = json_of(&app, &path).await["transcription"].clone();
        assert_eq!((waiting["status"].as_str(), waiting["source"].as_str()), (Some("pending"), Some("call")), "{waiting}");
        assert!(waiting["text"].is_null());
        app.start_worker(Some(Arc::new(Parrot)), 50);
        app.drain_jobs().await;
        assert_eq!(json_of(&app, &path).await["transcription"]["status"], "completed");
        app.stop().await;

        // A node that makes no transcriptions says so once the recording is kept: 404.
        let mut app = TestApp::spawn(backend).await;
        let tracking = answered_number(&app).await;
        let placed = place(&app, json!({"from": "+13055550111", "to": tracking, "talk_seconds": 30})).await;
        let path = format!("/api/v1/calls/{}/transcription", placed["call_id"].as_str().unwrap());
        assert_eq!(json_of(&app, &path).await["transcription"]["status"], "pending");
        app.start_worker(None, 50);
        app.drain_jobs().await;
        assert_error(app.get(&path).await, 404, "not_found", &[]).await;
        app.stop().await;
    }

    async fn a_voicemail_is_kept_transcribed_and_scored(backend: Backend) {
        if !ringtrack_store::testing::tier_ready(ringtrack_store::testing::Tier::Speech) {
            return;
        }
        let mut app = TestApp::spawn(backend).await;
        app.start_worker(Some(whisper()), 50);
        let tracking = voicemail_number(&app).await;
        let placed = place(&app, json!({"from": "+13055550101", "to": tracking, "voicemail_text": VOICEMAIL})).await;
        app.drain_jobs().await;
        let call_id = placed["call_id"].as_str().unwrap();

        let call = json_of(&app, &format!("/api/v1/calls/{call_id}")).await;
        assert_eq!(call["status"], "voicemail");
        assert_eq!((call["has_recording"].as_bool(), call["has_transcription"].as_bool()), (Some(true), Some(true)),
            "a voicemail is the call's audio when it is all there is");
        let score = call["ai_score"].as_i64().expect("scored");
        assert!(score >= 60, "a first-time caller asking for a repair appointment scores well: {call}");
        assert_eq!(call["qualified"], true, "{call}");
        let reasons = call["ai_reasons"].to_string();
        assert!(reasons.contains("scheduling") && reasons.contains("service_need"), "{reasons}");

        let voicemails = json_of(&app, "/api/v1/voicemails").await;
        let voicemail = &voicemails["voicemails"][0];
        assert_eq!(voicemail["has_transcription"], true);
        let text = voicemail["transcription_text"].as_str().unwrap().to_lowercase();
        for word in ["working", "repair", "appointment", "tomorrow"] {
            assert!(text.contains(word), "{word} missing from {text:?}");
        }
        let transcription = json_of(&app, &format!("/api/v1/calls/{call_id}/transcription")).await;
        let t = &transcription["transcription"];
        assert_eq!((t["status"].as_str(), t["source"].as_str()), (Some("completed"), Some("voicemail")));
        assert!(t["engine"].as_str().unwrap().starts_with("whisper.cpp/"));
        let segments = t["segments"].as_array().unwrap();
        assert!(!segments.is_empty() && segments.iter().all(|s| s["end"].as_f64() >= s["start"].as_f64()));

        let audio = app.get(&format!("/api/v1/voicemails/{}/recording", voicemail["id"].as_str().unwrap())).await;
        assert_eq!(audio.status(), StatusCode::OK);
        assert_eq!(audio.headers()[header::CONTENT_TYPE], "audio/mpeg");
        let bytes = audio.bytes().await.unwrap();
        let decoded = ringtrack_media::audio::decode(&bytes).expect("a valid MP3");
        assert_eq!((decoded.sample_rate, decoded.channels.len()), (8000, 1));
        assert!(decoded.duration_ms() > 4000, "{} ms", decoded.duration_ms());
        assert_eq!(sandbox_files(&app), 0, "deleted at the carrier once kept");
        let same = app.get(&format!("/api/v1/calls/{call_id}/recording")).await;
        assert_eq!(same.bytes().await.unwrap(), bytes, "the call's recording is its voicemail");
        app.stop().await;
    }

    async fn an_answered_call_is_transcribed_per_channel(backend: Backend) {
        if !ringtrack_store::testing::tier_ready(ringtrack_store::testing::Tier::Speech) {
            return;
        }
        let mut app = TestApp::spawn(backend).await;
        app.start_worker(Some(whisper()), 50);
        let tracking = answered_number(&app).await;
        let placed = place(&app, json!({"from": "+13055550102", "to": tracking, "talk_seconds": 90,
            "conversation": CONVERSATION})).await;
        app.drain_jobs().await;
        let call_id = placed["call_id"].as_str().unwrap();
        let call = json_of(&app, &format!("/api/v1/calls/{call_id}")).await;
        assert_eq!((call["has_recording"].as_bool(), call["has_transcription"].as_bool()), (Some(true), Some(true)));
        assert_eq!(call["ai_category"], "very_good", "{call}");
        assert_eq!(call["qualified"], true);

        let t = json_of(&app, &format!("/api/v1/calls/{call_id}/transcription")).await["transcription"].clone();
        let segments = t["segments"].as_array().unwrap();
        let speakers: Vec<&str> = segments.iter().map(|s| s["speaker"].as_str().unwrap()).collect();
        assert_eq!(speakers.first(), Some(&"agent"), "the agent speaks first: {t}");
        assert!(speakers.contains(&"caller"), "{t}");
        let caller_text: String = segments.iter().filter(|s| s["speaker"] == "caller")
            .map(|s| s["text"].as_str().unwrap().to_lowercase()).collect();
        assert!(caller_text.contains("leaking") && caller_text.contains("how much"), "{caller_text}");
        let starts: Vec<f64> = segments.iter().map(|s| s["start"].as_f64().unwrap()).collect();
        assert!(starts.windows(2).all(|w| w[0] <= w[1]), "segments in time order: {starts:?}");
        assert!(t["text"].as_str().unwrap().starts_with("Agent: "), "{t}");

        let recording = app.get(&format!("/api/v1/calls/{call_id}/recording")).await;
        assert_eq!(recording.status(), StatusCode::OK);
        let decoded = ringtrack_media::audio::decode(&recording.bytes().await.unwrap()).unwrap();
        assert_eq!(decoded.channels.len(), 2, "dual-channel recordings stay dual-channel");
        app.stop().await;
    }

    async fn recordings_serve_byte_ranges_and_etags(backend: Backend) {
        let mut app = TestApp::spawn(backend).await;
        app.start_worker(None, 50);
        let tracking = answered_number(&app).await;
        let placed = place(&app, json!({"from": "+13055550103", "to": tracking, "talk_seconds": 5})).await;
        app.drain_jobs().await;
        let path = format!("/api/v1/calls/{}/recording", placed["call_id"].as_str().unwrap());
        let whole = app.get(&path).await;
        assert_eq!(whole.status(), StatusCode::OK);
        assert_eq!(whole.headers()[header::ACCEPT_RANGES], "bytes");
        assert_eq!(whole.headers()[header::CACHE_CONTROL], "private, no-store", "no cache keeps a caller's voice");
        let etag = whole.headers()[header::ETAG].to_str().unwrap().to_owned();
        let length: usize = whole.headers()[header::CONTENT_LENGTH].to_str().unwrap().parse().unwrap();
        let all = whole.bytes().await.unwrap();
        assert_eq!(all.len(), length);
        assert!(length > 1000);

        let ranged = |range: &str| app.request(Method::GET, &path).header(header::RANGE, range).send();
        let first = ranged("bytes=0-99").await.unwrap();
        assert_eq!(first.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(first.headers()[header::CACHE_CONTROL], "private, no-store");
        assert_eq!(first.headers()[header::CONTENT_RANGE], format!("bytes 0-99/{length}"));
        assert_eq!(first.bytes().await.unwrap(), all[..100]);
        let tail = ranged("bytes=-10").await.unwrap();
        assert_eq!(tail.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(tail.bytes().await.unwrap(), all[length - 10..]);
        let past = ranged(&format!("bytes={length}-")).await.unwrap();
        assert_eq!(past.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(past.headers()[header::CONTENT_RANGE], format!("bytes */{length}"));

        let cached = app.request(Method::GET, &path).header(header::IF_NONE_MATCH, &etag).send().await.unwrap();
        assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
        let stale = app.request(Method::GET, &path).header(header::RANGE, "bytes=0-9")
            .header(header::IF_RANGE, "\"something-else\"").send().await.unwrap();
        assert_eq!(stale.status(), StatusCode::OK, "a stale If-Range gets the whole recording");

        // Nothing stored yet, or another business's call: 404 either way.
        let missed = place(&app, json!({"from": "+13055550104", "to": tracking, "answer": false})).await;
        app.drain_jobs().await;
        assert_error(app.get(&format!("/api/v1/calls/{}/recording", missed["call_id"].as_str().unwrap())).await,
            404, "not_found", &[]).await;
        assert_error(app.get(&format!("/api/v1/calls/{}/transcription", missed["call_id"].as_str().unwrap())).await,
            404, "not_found", &[]).await;
        let (_, other) = app.new_business("Other Co").await;
        for path in [path.clone(), path.replace("/recording", "/transcription")] {
            let response = app.as_key(&other, Method::GET, &path).send().await.unwrap();
            assert_error(response, 404, "not_found", &[]).await;
        }
        app.stop().await;
    }

    async fn recordings_kept_on_s3_are_served_from_it(backend: Backend) {
        if !ringtrack_store::testing::tier_ready(ringtrack_store::testing::Tier::S3) {
            return;
        }
        let mut app = TestApp::spawn_with_storage(backend, s3_bucket().await).await;
        app.start_worker(None, 50);
        let tracking = voicemail_number(&app).await;
        place(&app, json!({"from": "+13055550107", "to": tracking, "voicemail_text": "Please call me back."})).await;
        app.drain_jobs().await;
        assert!(!app.data_dir().join("recordings").exists(), "nothing kept on the local disk");
        let voicemails = json_of(&app, "/api/v1/voicemails").await;
        let path = format!("/api/v1/voicemails/{}/recording", voicemails["voicemails"][0]["id"].as_str().unwrap());
        let whole = app.get(&path).await;
        assert_eq!(whole.status(), StatusCode::OK);
        let all = whole.bytes().await.unwrap();
        assert!(ringtrack_media::audio::decode(&all).is_ok());
        let part = app.request(Method::GET, &path).header(header::RANGE, "bytes=10-19").send().await.unwrap();
        assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(part.bytes().await.unwrap(), all[10..20]);

        // The store's own errors: a missing object, and a bucket that is not there.
        let missing = app.recordings.get("no/such/key.mp3").await.unwrap_err();
        assert!(matches!(missing, StorageError::NotFound(_)), "{missing:?}");
        let mut elsewhere = s3_bucket().await;
        elsewhere.url = Some("s3://no-such-bucket-here/x".into());
        let nowhere = Recordings::open(&elsewhere, app.data_dir()).unwrap();
        let refused = nowhere.put("k", bytes::Bytes::from_static(b"x")).await.unwrap_err();
        assert!(matches!(&refused, StorageError::Failed(m) if m.contains("no such bucket")), "{refused:?}");
        app.stop().await;
    }

    async fn a_failing_download_is_retried_until_it_succeeds(backend: Backend) {
        let fetches = Arc::new(AtomicUsize::new(0));
        let counter = fetches.clone();
        let mut app = TestApp::spawn_with_carrier(backend, move |store, dir| {
            let inner = crate::common::sandbox(store, dir);
            Arc::new(FaultyCarrier { failed_fetches: AtomicUsize::new(2), fetches: counter, ..FaultyCarrier::around(inner) })
        })
        .await;
        app.start_worker(None, 50);
        let tracking = voicemail_number(&app).await;
        let placed = place(&app, json!({"from": "+13055550105", "to": tracking, "voicemail_text": "Please call me back."})).await;
        app.drain_jobs().await;
        assert_eq!(fetches.load(Ordering::SeqCst), 3, "two failures, then the download that worked");
        let jobs = ringtrack_store::jobs::all(&app.store).await.unwrap();
        let store_job = jobs.iter().find(|j| j.kind == "store_recording").unwrap();
        assert_eq!((store_job.state.as_str(), store_job.attempts), ("done", 3));
        assert!(jobs.iter().all(|j| j.state == "done"), "{jobs:?}");
        let voicemails = json_of(&app, "/api/v1/voicemails").await;
        let id = voicemails["voicemails"][0]["id"].as_str().unwrap();
        assert_eq!(app.get(&format!("/api/v1/voicemails/{id}/recording")).await.status(), StatusCode::OK);
        assert!(placed["call_id"].is_string());
        app.stop().await;
    }

    async fn scoring_settings_change_what_qualifies(backend: Backend) {
        let mut app = TestApp::spawn(backend).await;
        let defaults = json_of(&app, "/api/v1/scoring").await;
        assert_eq!(defaults["scoring"]["threshold"], 60);
        assert_eq!(defaults["scoring"]["min_duration_seconds"], 60);
        assert!(defaults["scoring"]["keywords"]["spam"].as_array().unwrap().len() > 3);

        assert_error(
            app.put("/api/v1/scoring", &json!({"threshold": 500, "weights": {"spam": "lots"}, "engine": "magic"})).await,
            422, "validation_failed", &["engine", "threshold", "weights.spam"],
        ).await;
        let viewer = app.key_with_role("viewer").await;
        let refused = app.as_key(&viewer, Method::PUT, "/api/v1/scoring").json(&json!({"threshold": 10})).send().await.unwrap();
        assert_error(refused, 403, "forbidden", &[]).await;

        let updated = app.put("/api/v1/scoring", &json!({"min_duration_seconds": 600, "threshold": 95})).await;
        assert_eq!(updated.status(), StatusCode::OK);
        assert_eq!(json_of(&app, "/api/v1/scoring").await["scoring"]["threshold"], 95);

        // A 90-second answered call no longer qualifies by length, and scores below 95.
        app.start_worker(None, 50);
        let tracking = answered_number(&app).await;
        let placed = place(&app, json!({"from": "+13055550106", "to": tracking, "talk_seconds": 90})).await;
        app.drain_jobs().await;
        let call = json_of(&app, &format!("/api/v1/calls/{}", placed["call_id"].as_str().unwrap())).await;
        assert!(call["ai_score"].as_i64().unwrap() < 95);
        assert_eq!(call["qualified"], false, "{call}");
        // A person's verdict outranks the automatic one, and a later re-score keeps it.
        let id = placed["call_id"].as_str().unwrap();
        app.patch(&format!("/api/v1/calls/{id}"), &json!({"qualified": true})).await;
        let mut tx = app.store.begin().await.unwrap();
        ringtrack_store::jobs::enqueue(&mut tx, &ringtrack_domain::jobs::Job::Score {
            call_id: id.parse().unwrap() }).await.unwrap();
        tx.commit().await.unwrap();
        app.drain_jobs().await;
        assert_eq!(json_of(&app, &format!("/api/v1/calls/{id}")).await["qualified"], true);
        app.stop().await;
    }
}
