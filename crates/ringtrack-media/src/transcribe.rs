//! Speech to text. An engine turns one 16 kHz channel into timed segments; [`transcribe`]
//! runs it over each channel of a recording and, for a two-channel call recording
//! (caller on the first channel, agent on the second, as carriers record dual-channel
//! calls), labels and interleaves the segments by time.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;

use crate::audio::{Audio, speech_channels};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    Caller,
    Agent,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Segment {
    /// Seconds from the start of the recording.
    pub start: f64,
    pub end: f64,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speaker: Option<Speaker>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transcript {
    pub engine: String,
    pub text: String,
    pub segments: Vec<Segment>,
}

#[derive(Debug, thiserror::Error)]
pub enum TranscribeError {
    #[error("speech model: {0}")]
    Model(String),
    #[error("transcription failed: {0}")]
    Failed(String),
}

/// One speech-to-text engine.
pub trait SpeechEngine: Send + Sync {
    fn name(&self) -> String;

    /// The segments of one channel of 16 kHz mono samples, timed from its start. `prompt`
    /// (may be empty) is text the speech is likely to resemble: the business's words.
    fn channel(
        &self,
        samples: Vec<f32>,
        prompt: &str,
    ) -> BoxFuture<'_, Result<Vec<Segment>, TranscribeError>>;
}

/// Transcribes every channel of `audio`; two channels are labelled caller and agent.
/// `prompt` (may be empty) primes the engine with the business's words.
pub async fn transcribe(
    engine: &dyn SpeechEngine,
    audio: &Audio,
    prompt: &str,
) -> Result<Transcript, TranscribeError> {
    let channels = speech_channels(audio);
    let labelled = channels.len() == 2;
    let mut segments = Vec::new();
    for (index, samples) in channels.into_iter().enumerate() {
        let speaker = labelled.then_some(if index == 0 { Speaker::Caller } else { Speaker::Agent });
        // Only where someone speaks: Whisper invents words in silence ("Thank you.") and
        // times a segment from the start of what it is given.
        for region in speech_regions(&samples, SPEECH_RATE) {
            let offset = region.start as f64 / f64::from(SPEECH_RATE);
            // A segment's times may run on into the window's padding (a fitted context
            // ends its last segment at 30 s): they are kept within the region.
            let length = region.len() as f64 / f64::from(SPEECH_RATE);
            for mut segment in engine.channel(leveled(&samples[region], SPEECH_RATE), prompt).await? {
                segment.text = segment.text.trim().to_owned();
                if is_speech(&segment.text) {
                    segment.start = segment.start.min(length) + offset;
                    segment.end = segment.end.min(length) + offset;
                    segment.speaker = speaker;
                    segments.push(segment);
                }
            }
        }
    }
    segments.sort_by(|a, b| a.start.total_cmp(&b.start));
    let text = segments
        .iter()
        .map(|s| match s.speaker {
            Some(Speaker::Caller) => format!("Caller: {}", s.text),
            Some(Speaker::Agent) => format!("Agent: {}", s.text),
            None => s.text.clone(),
        })
        .collect::<Vec<_>>()
        .join(if labelled { "\n" } else { " " });
    Ok(Transcript { engine: engine.name(), text, segments })
}

const SPEECH_RATE: u32 = 16_000;

/// The stretches of a channel where someone speaks, joined across pauses shorter than
/// 1.5 s (a turn's breaths) into stretches of at most 28 s (one Whisper window), each
/// padded by 0.2 s. A 20 ms frame is speech when it is within 25 dB of the channel's
/// loudest 200 ms, but at most -40 dBFS and at least -65 (speech at the usual level keeps
/// the old fixed gate, so the other side's faint bleed into a channel stays out), and 6 dB
/// above its noise floor (its 10th-percentile frame): a quiet talker or a weak line is heard
/// (the fixed -40 dBFS gate missed speech 30 dB below the usual level entirely), and a
/// line's hiss alone is not.
fn speech_regions(samples: &[f32], rate: u32) -> Vec<std::ops::Range<usize>> {
    let frame = rate as usize / 50;
    let (max_gap, max_len, pad) = (rate as usize * 3 / 2, rate as usize * 28, rate as usize / 5);
    let levels = frame_levels(samples, frame);
    let Some(loudest) = loudest_level(&levels) else { return Vec::new() };
    let mut sorted = levels.clone();
    sorted.sort_by(f32::total_cmp);
    let noise_floor = sorted[sorted.len() / 10];
    // A channel that is speech throughout has no quieter floor: its loudest speech counts.
    let above_noise = (noise_floor + 6.0).min(loudest - 10.0);
    let threshold = (loudest - 25.0).clamp(-65.0, -40.0).max(above_noise);
    let mut regions: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, level) in levels.iter().enumerate() {
        if *level < threshold {
            continue;
        }
        let (start, end) = (i * frame, (i * frame + frame).min(samples.len()));
        match regions.last_mut() {
            Some(last) if start - last.end <= max_gap && end - last.start <= max_len => last.end = end,
            _ => regions.push(start..end),
        }
    }
    regions
        .into_iter()
        .map(|r| r.start.saturating_sub(pad)..(r.end + pad).min(samples.len()))
        .filter(|r| r.len() >= frame * 5)
        .collect()
}

/// Each frame's mean power, in dB of full scale.
fn frame_levels(samples: &[f32], frame: usize) -> Vec<f32> {
    samples
        .chunks(frame)
        .map(|chunk| decibels(chunk.iter().map(|s| s * s).sum::<f32>() / chunk.len() as f32))
        .collect()
}

fn decibels(power: f32) -> f32 {
    10.0 * power.max(1e-12).log10()
}

/// The level of a channel's loudest 200 ms (ten frames): its loudest speech when it has
/// any, where a single frame could be a click. `None` for a channel shorter than that.
fn loudest_level(levels: &[f32]) -> Option<f32> {
    let power = |db: &f32| 10f32.powf(db / 10.0);
    levels.windows(10).map(|w| decibels(w.iter().map(power).sum::<f32>() / 10.0)).reduce(f32::max)
}

/// A region brought up to Whisper's usual level: its loudest 200 ms at -15 dBFS. Quieter
/// speech is amplified (by at most 30 dB, clipped at full scale), never made quieter.
fn leveled(samples: &[f32], rate: u32) -> Vec<f32> {
    let levels = frame_levels(samples, rate as usize / 50);
    let gain_db = loudest_level(&levels).map_or(0.0, |loudest| (-15.0 - loudest).clamp(0.0, 30.0));
    let gain = 10f32.powf(gain_db / 20.0);
    samples.iter().map(|s| (s * gain).clamp(-1.0, 1.0)).collect()
}

/// The encoder frames a region is decoded in: Whisper's encoder sees 50 frames a second,
/// 1,500 for its 30 s window, and costs in proportion to the frames it is given, so a
/// short clip given a whole window pays for 30 s. The decoder needs to see the speech end,
/// though: fitted tightly (the clip and 1.3 s) it looped on the last words of clips, 80%
/// word error rate over `bench/speech.sh`'s 30 sentences; twice the clip and 2 s was as
/// accurate as any wider choice measured, and more accurate than the whole window.
fn audio_context(samples: usize) -> i32 {
    let frames = samples.div_ceil(SPEECH_RATE as usize / 50);
    (frames * 2 + 100).min(WINDOW_FRAMES) as i32
}

/// The most words a region of `samples` can hold: four a second (240 a minute, faster
/// than the brisk talker's 190) and two more. A fitted context's text beyond it was
/// invented; one wrongly doubted costs only a decoding in the whole window.
fn most_words(samples: usize) -> usize {
    samples * 4 / SPEECH_RATE as usize + 2
}

/// The encoder frames of Whisper's whole 30 s window.
const WINDOW_FRAMES: usize = 1500;

/// Whisper marks non-speech as `[BLANK_AUDIO]`, `(music)` and the like.
fn is_speech(text: &str) -> bool {
    let bracketed = |open, close| text.starts_with(open) && text.ends_with(close);
    !text.is_empty() && !bracketed('[', ']') && !bracketed('(', ')') && !bracketed('*', '*')
}

/// whisper.cpp in process, greedy decoding, on the blocking thread pool. One model in
/// memory, shared; each transcription gets its own decoding state.
#[derive(Clone)]
pub struct Whisper {
    context: Arc<whisper_rs::WhisperContext>,
    name: String,
    threads: i32,
    /// Each region decoded in an encoder context fitted to its length ([`audio_context`]).
    fitted: bool,
}

impl Whisper {
    pub fn load(model: &Path) -> Result<Whisper, TranscribeError> {
        whisper_rs::install_logging_hooks();
        if !model.is_file() {
            return Err(TranscribeError::Model(format!(
                "{} does not exist; run `ringtrack models fetch` or set RINGTRACK_WHISPER_MODEL",
                model.display()
            )));
        }
        let context = whisper_rs::WhisperContext::new_with_params(
            model,
            whisper_rs::WhisperContextParameters::default(),
        )
        .map_err(|e| TranscribeError::Model(format!("{}: {e}", model.display())))?;
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(8)) as i32;
        let stem = model.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
        Ok(Whisper { context: Arc::new(context), name: format!("whisper.cpp/{stem}"), threads, fitted: true })
    }

    /// Every region decoded in a whole 30 s window, as before contexts were fitted: what
    /// `bench/speech.sh` compares the fitted contexts with.
    pub fn whole_windows(self) -> Whisper {
        Whisper { fitted: false, ..self }
    }

    /// A region's segments. A fitted context is tried first; its text is kept when it is
    /// plausible: no loop ([`looped_words`]) and no more words than the region could hold
    /// ([`most_words`]). A fitted context sometimes writes the sentence again, or loops,
    /// where the padding after the speech begins ("Do you offer free estimates for a new
    /// roof." four times for a 2.8 s clip, seen with tiny.en on flite's voices); such a
    /// region is decoded again in the whole window, which ends in silence as Whisper
    /// learned. A greedy decoder can loop in any window ("the main main main …" for a
    /// 12-word sentence, base): then once more with whisper.cpp's temperature fallback on
    /// (it samples again where its output's entropy shows repetition), and any loop left is
    /// cut to one occurrence.
    fn run(
        context: &whisper_rs::WhisperContext,
        threads: i32,
        fitted: bool,
        samples: &[f32],
        prompt: &str,
    ) -> Result<Vec<Segment>, TranscribeError> {
        if fitted {
            let first = Whisper::decode(
                context,
                threads,
                Some(audio_context(samples.len())),
                samples,
                prompt,
                false,
            )?;
            let said = texts(&first);
            let count: usize = said.iter().map(|text| text.split_whitespace().count()).sum();
            if looped_words(&said).is_empty() && count <= most_words(samples.len()) {
                return Ok(first);
            }
        }
        let whole = Whisper::decode(context, threads, None, samples, prompt, false)?;
        if looped_words(&texts(&whole)).is_empty() {
            return Ok(whole);
        }
        Ok(without_loops(Whisper::decode(context, threads, None, samples, prompt, true)?))
    }

    /// One decoding of a region, in `audio_context` encoder frames (`None`: the whole window).
    fn decode(
        context: &whisper_rs::WhisperContext,
        threads: i32,
        audio_context: Option<i32>,
        samples: &[f32],
        prompt: &str,
        fallback: bool,
    ) -> Result<Vec<Segment>, TranscribeError> {
        let failed = |e: whisper_rs::WhisperError| TranscribeError::Failed(e.to_string());
        let mut state = context.create_state().map_err(failed)?;
        // A token is at least a byte, so room for as many tokens as bytes always suffices
        // (whisper.cpp answers a negative count when the room is short).
        let prompt_tokens = if prompt.is_empty() {
            Vec::new()
        } else {
            context.tokenize(prompt, prompt.len() + 1).map_err(failed)?
        };
        let mut params = whisper_rs::FullParams::new(whisper_rs::SamplingStrategy::Greedy { best_of: 1 });
        if !prompt_tokens.is_empty() {
            params.set_tokens(&prompt_tokens);
        }
        params.set_n_threads(threads);
        params.set_language(Some("en"));
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);
        params.set_suppress_blank(true);
        // Greedy and deterministic, but for a retry: on every region the fallback made the
        // benchmark's word error rate worse (52% -> 55% at 10 dB SNR, two runs each).
        params.set_temperature_inc(if fallback { 0.2 } else { 0.0 });
        if let Some(frames) = audio_context {
            params.set_audio_ctx(frames);
        }
        state.full(params, samples).map_err(failed)?;
        state
            .as_iter()
            .map(|segment| {
                Ok(Segment {
                    start: segment.start_timestamp() as f64 / 100.0,
                    end: segment.end_timestamp() as f64 / 100.0,
                    text: segment.to_str_lossy().map_err(failed)?.into_owned(),
                    speaker: None,
                })
            })
            .collect()
    }
}

/// The words of a region's segments that repeat a loop, as `(segment, word)` positions
/// in reading order; empty when the text has none. A loop is one word said eight times
/// running, a phrase of two to four words four times, or a longer phrase (a whole
/// sentence, often one segment each time) three times: people repeat themselves less
/// ("no, no, no", "five five five five" for 5555, a question asked twice).
fn looped_words(segments: &[&str]) -> Vec<(usize, usize)> {
    let words: Vec<(usize, usize)> = segments
        .iter()
        .enumerate()
        .flat_map(|(segment, text)| (0..text.split_whitespace().count()).map(move |word| (segment, word)))
        .collect();
    let keys: Vec<String> = segments
        .iter()
        .flat_map(|text| text.split_whitespace())
        .map(|word| word.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect())
        .collect();
    let repeats = |at: usize, n: usize| {
        let phrase = &keys[at..at + n];
        (1..).take_while(|k| keys.get(at + k * n..at + (k + 1) * n) == Some(phrase)).count() + 1
    };
    let (mut looped, mut at) = (Vec::new(), 0);
    'words: while at < keys.len() {
        for n in 1..=keys.len() - at {
            let needed = match n {
                1 => 8,
                2..=4 => 4,
                _ => 3,
            };
            if n * needed > keys.len() - at {
                break;
            }
            let times = repeats(at, n);
            if times >= needed {
                looped.extend_from_slice(&words[at + n..at + n * times]);
                at += n * times;
                continue 'words;
            }
        }
        at += 1;
    }
    looped
}

fn texts(segments: &[Segment]) -> Vec<&str> {
    segments.iter().map(|s| s.text.as_str()).collect()
}

/// `segments` without the words [`looped_words`] found; a segment left without words is
/// dropped.
fn without_loops(segments: Vec<Segment>) -> Vec<Segment> {
    let looped = looped_words(&texts(&segments));
    segments
        .into_iter()
        .enumerate()
        .filter_map(|(index, segment)| {
            let text = (segment.text.split_whitespace().enumerate())
                .filter(|(word, _)| !looped.contains(&(index, *word)))
                .map(|(_, text)| text)
                .collect::<Vec<_>>()
                .join(" ");
            (!text.is_empty()).then_some(Segment { text, ..segment })
        })
        .collect()
}

impl SpeechEngine for Whisper {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn channel(
        &self,
        samples: Vec<f32>,
        prompt: &str,
    ) -> BoxFuture<'_, Result<Vec<Segment>, TranscribeError>> {
        let (context, threads, fitted) = (Arc::clone(&self.context), self.threads, self.fitted);
        let prompt = prompt.to_owned();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || Whisper::run(&context, threads, fitted, &samples, &prompt))
                .await
                .map_err(|e| TranscribeError::Failed(format!("the transcription thread stopped: {e}")))?
        })
    }
}

/// Any OpenAI-compatible `/v1/audio/transcriptions` endpoint.
pub struct OpenAi {
    http: reqwest::Client,
    base_url: String,
    api_key: Option<String>,
    model: String,
}

impl OpenAi {
    pub fn new(base_url: &str, api_key: Option<String>, model: &str) -> OpenAi {
        OpenAi {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(300))
                .build()
                .expect("a TLS client"),
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key,
            model: model.to_owned(),
        }
    }

    async fn request(&self, samples: Vec<f32>, prompt: String) -> Result<Vec<Segment>, TranscribeError> {
        let failed = |e: &dyn std::fmt::Display| TranscribeError::Failed(e.to_string());
        let file = reqwest::multipart::Part::bytes(crate::audio::wav(&[samples], 16_000))
            .file_name("audio.wav")
            .mime_str("audio/wav")
            .map_err(|e| failed(&e))?;
        let mut form = reqwest::multipart::Form::new()
            .part("file", file)
            .text("model", self.model.clone())
            .text("response_format", "verbose_json");
        if !prompt.is_empty() {
            form = form.text("prompt", prompt);
        }
        let mut request =
            self.http.post(format!("{}/v1/audio/transcriptions", self.base_url)).multipart(form);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|e| failed(&e))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(TranscribeError::Failed(format!(
                "{status}: {}",
                body.chars().take(300).collect::<String>()
            )));
        }
        let body: serde_json::Value = response.json().await.map_err(|e| failed(&e))?;
        parse_verbose_json(&body).ok_or_else(|| TranscribeError::Failed("the answer has no text".into()))
    }
}

/// `verbose_json` has timed segments; a plain `json` answer only text (one segment).
fn parse_verbose_json(body: &serde_json::Value) -> Option<Vec<Segment>> {
    if let Some(segments) = body["segments"].as_array() {
        return segments
            .iter()
            .map(|s| {
                Some(Segment {
                    start: s["start"].as_f64()?,
                    end: s["end"].as_f64()?,
                    text: s["text"].as_str()?.to_owned(),
                    speaker: None,
                })
            })
            .collect();
    }
    let text = body["text"].as_str()?;
    let end = body["duration"].as_f64().unwrap_or(0.0);
    Some(vec![Segment { start: 0.0, end, text: text.to_owned(), speaker: None }])
}

impl SpeechEngine for OpenAi {
    fn name(&self) -> String {
        format!("openai/{}", self.model)
    }

    fn channel(
        &self,
        samples: Vec<f32>,
        prompt: &str,
    ) -> BoxFuture<'_, Result<Vec<Segment>, TranscribeError>> {
        Box::pin(self.request(samples, prompt.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Answers each channel with a fixed segment naming the channel's length; the loud
    /// channel's segment runs on past its end, as a fitted context's last one can.
    struct Echo;

    impl SpeechEngine for Echo {
        fn name(&self) -> String {
            "echo".into()
        }
        fn channel(
            &self,
            samples: Vec<f32>,
            _prompt: &str,
        ) -> BoxFuture<'_, Result<Vec<Segment>, TranscribeError>> {
            let start = if samples[0] > 0.5 { 2.0 } else { 0.5 };
            Box::pin(async move {
                Ok(vec![
                    Segment {
                        start,
                        end: start + 1.5,
                        text: format!(" {} samples ", samples.len()),
                        speaker: None,
                    },
                    Segment { start: 9.0, end: 9.5, text: "[BLANK_AUDIO]".into(), speaker: None },
                ])
            })
        }
    }

    #[tokio::test]
    async fn two_channels_are_labelled_and_interleaved_by_time() {
        let caller = vec![0.9; 24_000];
        let agent = vec![0.1; 24_000];
        let audio = Audio { sample_rate: 8000, channels: vec![caller, agent] };
        let t = transcribe(&Echo, &audio, "").await.unwrap();
        let order: Vec<_> = t.segments.iter().map(|s| (s.start, s.end, s.speaker)).collect();
        // The caller's segment ends with its 3 s of speech, not at 3.5 s.
        assert_eq!(order, [(0.5, 2.0, Some(Speaker::Agent)), (2.0, 3.0, Some(Speaker::Caller))]);
        assert_eq!(t.text, "Agent: 48000 samples\nCaller: 48000 samples");
    }

    #[test]
    fn speech_regions_skip_silence_and_split_at_long_pauses() {
        let rate = 1000;
        let mut samples = vec![0.0; 10 * rate as usize];
        // Speech at 1-2 s and 2.5-3 s (one turn: the pause is short), then at 6-7 s.
        for range in [1000..2000, 2500..3000, 6000..7000] {
            samples[range].fill(0.3);
        }
        assert_eq!(speech_regions(&samples, rate), [800..3200, 5800..7200]);
        assert!(speech_regions(&vec![0.0; 5000], rate).is_empty());
    }

    /// A sine of `amplitude` over `range` of `samples` (a sine's power is half its
    /// amplitude squared), on top of what is there.
    fn tone(samples: &mut [f32], range: std::ops::Range<usize>, amplitude: f32) {
        for (i, sample) in samples[range].iter_mut().enumerate() {
            *sample += amplitude * (i as f32 * 0.7).sin();
        }
    }

    #[test]
    fn a_quiet_talker_is_heard_and_a_lines_hiss_alone_is_not() {
        let rate = 1000;
        // Speech at -53 dBFS (30 dB below the usual level) over hiss at -80 dBFS.
        let mut quiet = vec![0.0; 10 * rate as usize];
        tone(&mut quiet, 0..10_000, 0.000_14);
        tone(&mut quiet, 2000..4000, 0.003);
        let spoken = 1800..4200;
        assert_eq!(speech_regions(&quiet, rate), [spoken]);
        // Hiss alone, however it is scaled, is no one speaking.
        let mut hiss = vec![0.0; 10 * rate as usize];
        for (i, sample) in hiss.iter_mut().enumerate() {
            *sample = 0.000_14 * (((i * 7919) % 101) as f32 / 50.0 - 1.0);
        }
        assert!(speech_regions(&hiss, rate).is_empty());
        // Speech at the usual level keeps the -40 dBFS gate: the other side's bleed at -41
        // dBFS between its sentences, three seconds long, is not this channel's speech.
        let mut usual = vec![0.0; 10 * rate as usize];
        tone(&mut usual, 0..1000, 0.3);
        tone(&mut usual, 2000..5000, 0.012);
        tone(&mut usual, 7000..8000, 0.3);
        assert_eq!(speech_regions(&usual, rate), [0..1200, 6800..8200]);
    }

    #[test]
    fn a_decoders_loop_is_cut_to_one_occurrence_and_peoples_repeats_are_kept() {
        let segments = |texts: &[&str]| -> Vec<Segment> {
            let at = |i: usize| i as f64;
            (texts.iter().enumerate())
                .map(|(i, text)| Segment {
                    start: at(i),
                    end: at(i + 1),
                    text: text.to_string(),
                    speaker: None,
                })
                .collect()
        };
        let texts = |segments: Vec<Segment>| segments.into_iter().map(|s| s.text).collect::<Vec<_>>();
        let looped = format!("I need in the {} first last time.", ["main"; 200].join(" "));
        assert_eq!(texts(without_loops(segments(&[&looped]))), ["I need in the main first last time."]);
        let phrase = format!("Call me {}back.", "at five, ".repeat(6));
        assert_eq!(texts(without_loops(segments(&[&phrase]))), ["Call me at five, back."]);
        // A whole sentence again and again, one segment each time (tiny.en on a flite voice).
        let sentence = "Do you offer three estimates for a new roof.";
        let repeated = segments(&[sentence, sentence, sentence, sentence, "Bye."]);
        let kept = without_loops(repeated);
        assert_eq!(texts(kept.clone()), [sentence, "Bye."]);
        assert_eq!((kept[1].start, kept[1].end), (4.0, 5.0), "a kept segment keeps its times");
        for said in [
            &["No, no, no, no, that's not it."][..],
            &["My number is five five five five five five five."],
            &["Thank you, thank you, thank you."],
            &["Can you hear me?", "Can you hear me?", "Good."],
            &["Can you hear me now, Bob?", "Can you hear me now, Bob?"],
            &[""],
        ] {
            assert_eq!(looped_words(said), [], "{said:?}");
        }
    }

    #[test]
    fn quiet_speech_is_brought_to_the_usual_level_and_loud_speech_is_left_alone() {
        let rate = 1000;
        let loudest = |samples: &[f32]| loudest_level(&frame_levels(samples, 20)).unwrap();
        let mut quiet = vec![0.0; 2000];
        tone(&mut quiet, 0..2000, 0.03);
        assert!((loudest(&leveled(&quiet, rate)) + 15.0).abs() < 0.1, "{}", loudest(&leveled(&quiet, rate)));
        let mut faint = vec![0.0; 2000];
        tone(&mut faint, 0..2000, 0.000_1);
        let raised = loudest(&leveled(&faint, rate)) - loudest(&faint);
        assert!((raised - 30.0).abs() < 0.1, "at most 30 dB louder: {raised}");
        let mut loud = vec![0.0; 2000];
        tone(&mut loud, 0..2000, 0.5);
        assert_eq!(leveled(&loud, rate), loud, "never made quieter");
    }

    #[tokio::test]
    async fn silent_channels_and_non_speech_marks_are_dropped() {
        let audio = Audio { sample_rate: 16_000, channels: vec![vec![0.0; 16_000]] };
        let t = transcribe(&Echo, &audio, "").await.unwrap();
        assert!(t.segments.is_empty() && t.text.is_empty());
        let mono = Audio { sample_rate: 16_000, channels: vec![vec![0.2; 16_000]] };
        let t = transcribe(&Echo, &mono, "").await.unwrap();
        assert_eq!((t.segments.len(), t.segments[0].speaker), (1, None));
    }

    #[test]
    fn openai_answers_are_read_with_or_without_segments() {
        let verbose =
            json!({"text": "hi there", "segments": [{"start": 0.0, "end": 1.5, "text": " hi there"}]});
        assert_eq!(parse_verbose_json(&verbose).unwrap()[0].end, 1.5);
        let plain = json!({"text": "hello"});
        assert_eq!(parse_verbose_json(&plain).unwrap()[0].text, "hello");
        assert!(parse_verbose_json(&json!({"error": "x"})).is_none());
    }
}
