//! The speech benchmark (`bench/speech.sh`): 30 call-like sentences spoken by two sets of
//! synthetic voices — espeak-ng's (formant synthesis) in five voices at three speeds, and
//! flite's voices built from recordings of real speakers in four voices at three speeds —
//! each heard six ways: clean 16 kHz, through the telephone (8 kHz mu-law), through the
//! telephone with noise at 20 and 10 dB SNR, through the telephone 30 dB quieter (a quiet
//! talker or a weak line), and through the telephone with 60 Hz mains hum 10 dB below the
//! speech; transcribed by the given model with each region's encoder context fitted to it
//! (alone, and primed with a business's name and greeting) and with whole 30 s windows.
//! Prints a Markdown table per set of voices: word error rate and speed (times real time)
//! per condition and decoding, and the process's peak memory.
//! With `--show`, each misheard sentence and what was heard go to standard error.
//!
//!     cargo run --release -p ringtrack-media --example word_error_rate -- MODEL.bin [--show]

use std::path::Path;
use std::process::Command;

use ringtrack_media::accuracy::{CALL_SENTENCES as SENTENCES, Voice, word_edits, words};
use ringtrack_media::audio::{self, Audio};
use ringtrack_media::transcribe::{Whisper, transcribe};

/// What a plumber's business primes the model with (its name and its flow's greeting, as
/// `ringtrack_domain::transcription::prompt` writes them): none of the sentences' words.
const PROMPT: &str = "Acme Plumbing. Thanks for calling Acme Plumbing, how can we help.";

/// The voice that speaks sentence `i`.
type VoiceOf = fn(usize) -> Voice;

/// The two sets of voices, each speaking every sentence: sentence `i` in the set's voice `i`.
const VOICE_SETS: [(&str, VoiceOf); 2] = [
    (
        "espeak-ng: en-us, en-us+f3, en-gb, en-gb-scotland, en-us+m3 at 140, 165 and 190 words a minute",
        espeak,
    ),
    ("flite, from recorded speakers: slt, awb, rms, kal16 at their own pace, 10% and 20% faster", flite),
];

fn espeak(i: usize) -> Voice {
    let voice = ["en-us", "en-us+f3", "en-gb", "en-gb-scotland", "en-us+m3"][i % 5];
    Voice::Espeak { voice, words_a_minute: [140, 165, 190][i % 3] }
}

fn flite(i: usize) -> Voice {
    Voice::Flite { voice: ["slt", "awb", "rms", "kal16"][i % 4], stretch: [1.0, 0.9, 0.8][i % 3] }
}

/// How a sentence reaches the model.
#[derive(Clone, Copy)]
enum Condition {
    Clean,
    Telephone,
    Noisy {
        snr_db: f32,
    },
    /// A quiet talker or a weak line: the speech `db` below its recorded level.
    Quiet {
        db: f32,
    },
    /// Mains hum (60 Hz and its harmonics) `db` below the speech, as an ungrounded line
    /// or a cheap adapter adds it.
    Hum {
        db: f32,
    },
}

impl Condition {
    fn label(self) -> String {
        match self {
            Condition::Clean => "clean, 16 kHz".into(),
            Condition::Telephone => "telephone (8 kHz mu-law)".into(),
            Condition::Noisy { snr_db } => format!("telephone, noise at {snr_db:.0} dB SNR"),
            Condition::Quiet { db } => format!("telephone, {db:.0} dB quieter"),
            Condition::Hum { db } => format!("telephone, 60 Hz hum {db:.0} dB below the speech"),
        }
    }
}

const CONDITIONS: [Condition; 6] = [
    Condition::Clean,
    Condition::Telephone,
    Condition::Noisy { snr_db: 20.0 },
    Condition::Noisy { snr_db: 10.0 },
    Condition::Quiet { db: 30.0 },
    Condition::Hum { db: 10.0 },
];

fn run(command: &mut Command) {
    let status = command.status().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(status.success(), "{command:?} failed");
}

/// The mean power `db` below the speech's: what an added sound is scaled to.
fn power_below(speech: &[f32], db: f32) -> f32 {
    let speech_power = speech.iter().map(|s| s * s).sum::<f32>() / speech.len().max(1) as f32;
    speech_power / 10f32.powf(db / 10.0)
}

/// White noise at `snr_db` below the speech's power, from a fixed seed (xorshift), so
/// every run hears the same noise.
fn add_noise(samples: &mut [f32], snr_db: f32) {
    // A uniform value in [-1, 1] has power 1/3.
    let scale = (power_below(samples, snr_db) * 3.0).sqrt();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for sample in samples {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let uniform = (state >> 11) as f32 / (1u64 << 53) as f32 * 2.0 - 1.0;
        *sample += uniform * scale;
    }
}

/// Mains hum `db` below the speech's power: 60 Hz with its second and third harmonics 6
/// and 12 dB down.
fn add_hum(samples: &mut [f32], rate: u32, db: f32) {
    let harmonics = [(60.0, 1.0), (120.0, 0.5), (180.0, 0.25)];
    // A sine of amplitude a has power a²/2.
    let unit_power: f32 = harmonics.iter().map(|(_, a)| a * a / 2.0).sum();
    let scale = (power_below(samples, db) / unit_power).sqrt();
    for (i, sample) in samples.iter_mut().enumerate() {
        let t = i as f32 / rate as f32;
        let hum: f32 = harmonics.iter().map(|(f, a)| a * (2.0 * std::f32::consts::PI * f * t).sin()).sum();
        *sample += hum * scale;
    }
}

/// The sentence as the model hears it under `condition`.
fn heard(dir: &Path, name: &str, clean: &Audio, condition: Condition) -> Audio {
    let mut samples = clean.channels[0].clone();
    match condition {
        Condition::Clean => return clean.clone(),
        Condition::Telephone => {}
        Condition::Noisy { snr_db } => add_noise(&mut samples, snr_db),
        Condition::Quiet { db } => samples.iter_mut().for_each(|s| *s *= 10f32.powf(-db / 20.0)),
        Condition::Hum { db } => add_hum(&mut samples, clean.sample_rate, db),
    }
    let mixed = dir.join(format!("{name}-mixed.wav"));
    let phone = dir.join(format!("{name}-ulaw.wav"));
    std::fs::write(&mixed, audio::wav(&[samples], clean.sample_rate)).unwrap();
    run(Command::new("sox").arg(&mixed).args(["-r", "8000", "-e", "mu-law"]).arg(&phone));
    audio::decode(&std::fs::read(&phone).unwrap()).unwrap()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let model = std::env::args().nth(1).expect("usage: word_error_rate MODEL.bin [--show]");
    let show = std::env::args().any(|a| a == "--show");
    let dir = tempfile::tempdir().unwrap();
    let fitted = Whisper::load(Path::new(&model)).expect("the model");
    let whole = fitted.clone().whole_windows();
    let reference_words: usize = SENTENCES.iter().map(|s| words(s).len()).sum();
    let name = Path::new(&model).file_name().unwrap().to_string_lossy().into_owned();
    for (set, voice) in VOICE_SETS {
        let mut spoken = Vec::new();
        for (i, sentence) in SENTENCES.iter().enumerate() {
            let (raw, clean) = (dir.path().join(format!("{i}.wav")), dir.path().join(format!("{i}-16k.wav")));
            voice(i).speak(sentence, &raw).unwrap();
            run(Command::new("sox").arg(&raw).args(["-r", "16000", "-b", "16"]).arg(&clean));
            spoken.push(audio::decode(&std::fs::read(&clean).unwrap()).unwrap());
        }
        let seconds: f64 = spoken.iter().map(|a| a.duration_ms() as f64 / 1000.0).sum();
        println!(
            "\n{set}: {} sentences, {reference_words} words, {seconds:.0} s of speech; model {name}\n",
            SENTENCES.len()
        );
        println!(
            "| condition | fitted: WER | speed | fitted, primed: WER | speed | whole 30 s window: WER | speed |"
        );
        println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        for condition in CONDITIONS {
            let inputs: Vec<Audio> = spoken
                .iter()
                .enumerate()
                .map(|(i, clean)| heard(dir.path(), &i.to_string(), clean, condition))
                .collect();
            let runs = [
                ("fitted", &fitted, ""),
                ("fitted, primed", &fitted, PROMPT),
                ("whole 30 s window", &whole, ""),
            ];
            let mut cells = Vec::new();
            for (context, engine, prompt) in runs {
                let (mut errors, mut busy) = (0, std::time::Duration::ZERO);
                for (input, sentence) in inputs.iter().zip(SENTENCES) {
                    let started = std::time::Instant::now();
                    let transcript = transcribe(engine, input, prompt).await.unwrap();
                    busy += started.elapsed();
                    let misheard = word_edits(&words(sentence), &words(&transcript.text));
                    if show && misheard > 0 {
                        eprintln!(
                            "{} ({context}), {misheard} edits: {sentence}\n    heard: {}",
                            condition.label(),
                            transcript.text
                        );
                    }
                    errors += misheard;
                }
                cells.push(format!("{:.1}%", errors as f64 * 100.0 / reference_words as f64));
                cells.push(format!("{:.3}x", busy.as_secs_f64() / seconds));
            }
            println!("| {} | {} |", condition.label(), cells.join(" | "));
        }
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak =
        status.lines().find(|l| l.starts_with("VmHWM:")).unwrap_or("VmHWM: ?").trim_start_matches("VmHWM:");
    println!("\nPeak memory of the process: {}", peak.trim());
}
