//! Audio in and out: WAV (PCM, float, G.711 mu-law and A-law, as carriers send) and MP3
//! decoded to planar samples; MP3 encoded with LAME for storage; any rate resampled to
//! the 16 kHz mono channels speech recognition wants.

use std::io::Cursor;

use mp3lame_encoder::{Bitrate, Builder, DualPcm, FlushNoGap, MonoPcm, Quality};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::DecoderOptions;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// Decoded audio: one vector of samples in [-1, 1] per channel.
#[derive(Clone, Debug, PartialEq)]
pub struct Audio {
    pub sample_rate: u32,
    pub channels: Vec<Vec<f32>>,
}

impl Audio {
    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    pub fn duration_ms(&self) -> u64 {
        (self.frames() as u64 * 1000).checked_div(u64::from(self.sample_rate)).unwrap_or(0)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AudioError {
    #[error("unsupported audio: {0}")]
    Unsupported(String),
    #[error("corrupt audio: {0}")]
    Corrupt(String),
    #[error("cannot encode MP3: {0}")]
    Encode(String),
}

pub const MP3: &str = "audio/mpeg";

/// Decodes WAV or MP3, told apart by their first bytes.
pub fn decode(bytes: &[u8]) -> Result<Audio, AudioError> {
    if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WAVE") {
        decode_wav(bytes)
    } else if bytes.starts_with(b"ID3") || (bytes.len() > 1 && bytes[0] == 0xff && bytes[1] & 0xe0 == 0xe0) {
        decode_mp3(bytes)
    } else {
        Err(AudioError::Unsupported("neither WAV nor MP3".into()))
    }
}

const WAVE_PCM: u16 = 1;
const WAVE_FLOAT: u16 = 3;
const WAVE_ALAW: u16 = 6;
const WAVE_MULAW: u16 = 7;
const WAVE_EXTENSIBLE: u16 = 0xfffe;

fn decode_wav(bytes: &[u8]) -> Result<Audio, AudioError> {
    let corrupt = |m: &str| AudioError::Corrupt(m.to_owned());
    let u16_at = |at: usize| bytes.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |at: usize| bytes.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let mut at = 12;
    let mut format = None;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let size = u32_at(at + 4).ok_or(corrupt("chunk size"))? as usize;
        let body = at + 8;
        match id {
            b"fmt " => {
                let mut tag = u16_at(body).ok_or(corrupt("fmt"))?;
                if tag == WAVE_EXTENSIBLE {
                    tag = u16_at(body + 24).ok_or(corrupt("extensible fmt"))?;
                }
                let channels = u16_at(body + 2).ok_or(corrupt("fmt"))?;
                let rate = u32_at(body + 4).ok_or(corrupt("fmt"))?;
                let bits = u16_at(body + 14).ok_or(corrupt("fmt"))?;
                format = Some((tag, channels, rate, bits));
            }
            b"data" => {
                let (tag, channels, sample_rate, bits) = format.ok_or(corrupt("data before fmt"))?;
                if channels == 0 || sample_rate == 0 {
                    return Err(corrupt("no channels or no sample rate"));
                }
                // Streamed WAVs may leave the size unset: take what there is.
                let data = &bytes[body..bytes.len().min(body.saturating_add(size))];
                let samples: Vec<f32> = match (tag, bits) {
                    (WAVE_PCM, 8) => data.iter().map(|b| (f32::from(*b) - 128.0) / 128.0).collect(),
                    (WAVE_PCM, 16) => data
                        .chunks_exact(2)
                        .map(|s| f32::from(i16::from_le_bytes([s[0], s[1]])) / 32768.0)
                        .collect(),
                    (WAVE_PCM, 24) => data
                        .chunks_exact(3)
                        .map(|s| (i32::from_le_bytes([0, s[0], s[1], s[2]]) >> 8) as f32 / 8_388_608.0)
                        .collect(),
                    (WAVE_PCM, 32) => data
                        .chunks_exact(4)
                        .map(|s| i32::from_le_bytes([s[0], s[1], s[2], s[3]]) as f32 / 2_147_483_648.0)
                        .collect(),
                    (WAVE_FLOAT, 32) => {
                        data.chunks_exact(4).map(|s| f32::from_le_bytes([s[0], s[1], s[2], s[3]])).collect()
                    }
                    (WAVE_MULAW, 8) => {
                        data.iter().map(|b| f32::from(mulaw_to_linear(*b)) / 32768.0).collect()
                    }
                    (WAVE_ALAW, 8) => data.iter().map(|b| f32::from(alaw_to_linear(*b)) / 32768.0).collect(),
                    _ => return Err(AudioError::Unsupported(format!("WAV format {tag} with {bits} bits"))),
                };
                let n = usize::from(channels);
                let channels = (0..n)
                    .map(|c| samples.iter().skip(c).step_by(n).copied().collect())
                    .collect::<Vec<Vec<f32>>>();
                return Ok(Audio { sample_rate, channels });
            }
            _ => {}
        }
        // Chunks are padded to an even size.
        at = body.saturating_add(size).saturating_add(size & 1);
    }
    Err(corrupt("no data chunk"))
}

/// G.711 mu-law to 16-bit linear.
pub fn mulaw_to_linear(byte: u8) -> i16 {
    let b = !byte;
    let exponent = (b >> 4) & 0x07;
    let mantissa = i32::from(b & 0x0f);
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    (if b & 0x80 != 0 { -magnitude } else { magnitude }) as i16
}

/// G.711 A-law to 16-bit linear.
pub fn alaw_to_linear(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let exponent = (a >> 4) & 0x07;
    let mantissa = i32::from(a & 0x0f);
    let magnitude = match exponent {
        0 => (mantissa << 4) + 8,
        e => ((mantissa << 4) + 0x108) << (e - 1),
    };
    (if a & 0x80 != 0 { magnitude } else { -magnitude }) as i16
}

fn decode_mp3(bytes: &[u8]) -> Result<Audio, AudioError> {
    let corrupt = |e: SymphoniaError| AudioError::Corrupt(e.to_string());
    let stream = MediaSourceStream::new(Box::new(Cursor::new(bytes.to_vec())), Default::default());
    let mut hint = Hint::new();
    hint.with_extension("mp3");
    let probed = symphonia::default::get_probe()
        .format(&hint, stream, &FormatOptions::default(), &MetadataOptions::default())
        .map_err(corrupt)?;
    let mut reader = probed.format;
    let track = reader.default_track().ok_or(AudioError::Corrupt("no audio track".into()))?;
    let track_id = track.id;
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(corrupt)?;
    let mut audio: Option<Audio> = None;
    loop {
        let packet = match reader.next_packet() {
            Ok(packet) => packet,
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(corrupt(e)),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(decoded) => decoded,
            // A damaged frame is skipped, as players do.
            Err(SymphoniaError::DecodeError(_)) => continue,
            Err(e) => return Err(corrupt(e)),
        };
        let spec = *decoded.spec();
        let n = spec.channels.count();
        let mut buffer = SampleBuffer::<f32>::new(decoded.capacity() as u64, spec);
        buffer.copy_interleaved_ref(decoded);
        let out =
            audio.get_or_insert_with(|| Audio { sample_rate: spec.rate, channels: vec![Vec::new(); n] });
        for (i, sample) in buffer.samples().iter().enumerate() {
            out.channels[i % n].push(*sample);
        }
    }
    audio.ok_or(AudioError::Corrupt("no audio frames".into()))
}

/// Encodes as MP3 (mono or stereo, constant bit rate suited to speech at that rate).
pub fn encode_mp3(audio: &Audio) -> Result<Vec<u8>, AudioError> {
    let fail = |e: &dyn std::fmt::Debug| AudioError::Encode(format!("{e:?}"));
    let stereo = audio.channels.len() >= 2;
    if audio.channels.is_empty() || audio.channels.len() > 2 {
        return Err(AudioError::Unsupported(format!("{} channels", audio.channels.len())));
    }
    let bitrate = match (audio.sample_rate, stereo) {
        (..=16_000, false) => Bitrate::Kbps32,
        (..=16_000, true) => Bitrate::Kbps48,
        (_, false) => Bitrate::Kbps64,
        (_, true) => Bitrate::Kbps96,
    };
    let mut encoder = Builder::new()
        .ok_or(AudioError::Encode("LAME did not start".into()))?
        .with_num_channels(if stereo { 2 } else { 1 })
        .map_err(|e| fail(&e))?
        .with_sample_rate(audio.sample_rate)
        .map_err(|e| fail(&e))?
        .with_brate(bitrate)
        .map_err(|e| fail(&e))?
        .with_quality(Quality::Good)
        .map_err(|e| fail(&e))?
        .build()
        .map_err(|e| fail(&e))?;
    let pcm = |channel: &[f32]| -> Vec<i16> { channel.iter().copied().map(to_i16).collect() };
    let left = pcm(&audio.channels[0]);
    // encode_to_vec writes into spare capacity only: reserve the worst case first.
    let mut out = Vec::with_capacity(mp3lame_encoder::max_required_buffer_size(left.len()));
    if stereo {
        let right = pcm(&audio.channels[1]);
        encoder.encode_to_vec(DualPcm { left: &left, right: &right }, &mut out).map_err(|e| fail(&e))?;
    } else {
        encoder.encode_to_vec(MonoPcm(&left), &mut out).map_err(|e| fail(&e))?;
    }
    out.reserve(7200);
    encoder.flush_to_vec::<FlushNoGap>(&mut out).map_err(|e| fail(&e))?;
    Ok(out)
}

/// A 16-bit PCM WAV file of interleaved `channels` (each the same length).
pub fn wav(channels: &[Vec<f32>], sample_rate: u32) -> Vec<u8> {
    let n = channels.len().max(1);
    let frames = channels.first().map_or(0, Vec::len);
    let data_len = (frames * n * 2) as u32;
    let block = (n * 2) as u16;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&WAVE_PCM.to_le_bytes());
    out.extend_from_slice(&(n as u16).to_le_bytes());
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&(sample_rate * u32::from(block)).to_le_bytes());
    out.extend_from_slice(&block.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..frames {
        for channel in channels {
            out.extend_from_slice(&to_i16(channel[i]).to_le_bytes());
        }
    }
    out
}

fn to_i16(sample: f32) -> i16 {
    (sample.clamp(-1.0, 1.0) * 32767.0).round() as i16
}

/// Resamples one channel to `to` Hz with a windowed-sinc filter that also removes what
/// the lower rate cannot hold.
pub fn resample(samples: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || samples.is_empty() {
        return samples.to_vec();
    }
    const HALF_TAPS: isize = 16;
    let ratio = f64::from(to) / f64::from(from);
    let cutoff = ratio.min(1.0);
    let out_len = (samples.len() as f64 * ratio).round() as usize;
    (0..out_len)
        .map(|i| {
            let centre = i as f64 / ratio;
            let first = centre.floor() as isize - HALF_TAPS + 1;
            let mut sum = 0.0;
            let mut weights = 0.0;
            for j in first..first + 2 * HALF_TAPS {
                let Some(sample) = usize::try_from(j).ok().and_then(|j| samples.get(j)) else { continue };
                let x = (j as f64 - centre) * cutoff;
                let sinc = if x.abs() < 1e-9 {
                    1.0
                } else {
                    (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
                };
                // Blackman window over the taps.
                let t = (j as f64 - centre) / (HALF_TAPS as f64);
                let window = if t.abs() >= 1.0 {
                    0.0
                } else {
                    0.42 + 0.5 * (std::f64::consts::PI * t).cos()
                        + 0.08 * (2.0 * std::f64::consts::PI * t).cos()
                };
                let w = sinc * window;
                sum += f64::from(*sample) * w;
                weights += w;
            }
            if weights.abs() > 1e-9 { (sum / weights) as f32 } else { 0.0 }
        })
        .collect()
}

/// Each channel at 16 kHz, for speech recognition.
pub fn speech_channels(audio: &Audio) -> Vec<Vec<f32>> {
    audio.channels.iter().map(|c| resample(c, audio.sample_rate, 16_000)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, seconds: f32, hz: f32) -> Vec<f32> {
        (0..(rate as f32 * seconds) as usize)
            .map(|i| 0.5 * (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin())
            .collect()
    }

    fn raw_wav(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&channels.to_le_bytes());
        out.extend_from_slice(&rate.to_le_bytes());
        let block = channels * bits / 8;
        out.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
        out.extend_from_slice(&block.to_le_bytes());
        out.extend_from_slice(&bits.to_le_bytes());
        // An unknown chunk before the data, as some carriers add.
        out.extend_from_slice(b"LIST\x03\x00\x00\x00abc\x00");
        out.extend_from_slice(b"data");
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn stereo_pcm_wav_splits_into_channels() {
        let frames: [(i16, i16); 3] = [(0, 100), (16384, -16384), (-32768, 32767)];
        let data: Vec<u8> =
            frames.iter().flat_map(|(l, r)| [l.to_le_bytes(), r.to_le_bytes()].concat()).collect();
        let audio = decode(&raw_wav(1, 2, 8000, 16, &data)).unwrap();
        assert_eq!(audio.sample_rate, 8000);
        assert_eq!(audio.channels[0], [0.0, 0.5, -1.0]);
        assert_eq!(audio.channels[1][1], -0.5);
    }

    #[test]
    fn written_wavs_read_back() {
        let channels = vec![vec![0.0, 0.5, -0.25], vec![1.0, -1.0, 0.0]];
        let audio = decode(&wav(&channels, 16_000)).unwrap();
        assert_eq!(audio.sample_rate, 16_000);
        for (got, want) in audio.channels.iter().flatten().zip(channels.iter().flatten()) {
            assert!((got - want).abs() < 1e-4, "{got} vs {want}");
        }
    }

    #[test]
    fn g711_follows_the_standard_tables() {
        // ITU-T G.711: mu-law 0xff and 0x7f are zero, 0x80 is the largest positive, 0x00 the
        // largest negative; A-law 0xd5 is the smallest positive step.
        assert_eq!(mulaw_to_linear(0xff), 0);
        assert_eq!(mulaw_to_linear(0x80), 32124);
        assert_eq!(mulaw_to_linear(0x00), -32124);
        assert_eq!(alaw_to_linear(0xd5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xaa), 32256);
        let audio = decode(&raw_wav(7, 1, 8000, 8, &[0xff, 0x80])).unwrap();
        assert_eq!(audio.channels[0], [0.0, 32124.0 / 32768.0]);
    }

    #[test]
    fn unknown_formats_are_refused_by_name() {
        assert!(matches!(decode(b"hello world"), Err(AudioError::Unsupported(_))));
        assert!(
            matches!(decode(&raw_wav(2, 1, 8000, 4, &[1, 2])), Err(AudioError::Unsupported(m)) if m.contains("format 2"))
        );
    }

    #[test]
    fn mp3_round_trip_keeps_length_channels_and_the_signal() {
        let left = tone(8000, 2.0, 440.0);
        let right = tone(8000, 2.0, 880.0);
        let audio = Audio { sample_rate: 8000, channels: vec![left.clone(), right] };
        let mp3 = encode_mp3(&audio).unwrap();
        assert!(mp3.len() > 5_000 && mp3.len() < 20_000, "{} bytes for 2 s at 48 kbps", mp3.len());
        let back = decode(&mp3).unwrap();
        assert_eq!((back.sample_rate, back.channels.len()), (8000, 2));
        // LAME adds encoder delay and padding: a frame or two.
        assert!((back.frames() as i64 - 16_000).abs() < 2_500, "{} frames", back.frames());
        let energy = |s: &[f32]| s.iter().map(|x| x * x).sum::<f32>() / s.len() as f32;
        let ratio = energy(&back.channels[0]) / energy(&left);
        assert!((0.8..1.2).contains(&ratio), "energy ratio {ratio}");
    }

    #[test]
    fn resampling_keeps_a_tone_and_its_duration() {
        let up = resample(&tone(8000, 1.0, 440.0), 8000, 16_000);
        assert_eq!(up.len(), 16_000);
        let expected = tone(16_000, 1.0, 440.0);
        let error: f32 = up[100..15_900]
            .iter()
            .zip(&expected[100..15_900])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(error < 0.01, "max error {error}");
        // Down from 22.05 kHz, a 9 kHz tone (above the new Nyquist) is filtered out.
        let down = resample(&tone(22_050, 1.0, 9_000.0), 22_050, 16_000);
        assert_eq!(down.len(), 16_000);
        let peak = down[200..15_800].iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!(peak < 0.05, "aliased peak {peak}");
    }
}
