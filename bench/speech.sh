#!/usr/bin/env bash
# The speech benchmark: word error rate, speed (times real time) and peak memory of the
# offline model on 30 call-like sentences, spoken by espeak-ng's voices and by flite's
# voices from recorded speakers, clean, through the telephone (8 kHz mu-law), with noise at
# 20 and 10 dB SNR, 30 dB quieter and with mains hum; each region's encoder context fitted
# to it, and whole 30 s windows. `--show` after the model lists every misheard sentence on
# standard error. See crates/ringtrack-media/examples/word_error_rate.rs.
#
#   bench/speech.sh [MODEL.bin [--show]]   (default: the model `ringtrack models fetch` prepares)
source "$(dirname "$0")/../scripts/lib/setup.sh"
cd "$(dirname "$0")/.."
ensure_rust
ensure_peers
cargo build --locked -p ringtrack >&2
model=${1:-$(ensure_speech_model "$PWD/target/peer-venv/bin/python" "$PWD/target/test-data" target/debug/ringtrack)}
cargo build --release --locked -p ringtrack-media --example word_error_rate >&2
target/release/examples/word_error_rate "$model" "${@:2}" | tee bench/results-speech.md
