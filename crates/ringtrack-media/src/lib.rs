//! Recordings and transcription: audio decoding and MP3 encoding, the object store that
//! keeps recordings (local files or S3), the speech-to-text engines (whisper.cpp in
//! process, or an OpenAI-compatible service), and the converter that prepares the
//! offline model.

pub mod accuracy;
pub mod audio;
pub mod delivery;
pub mod ggml;
pub mod models;
pub mod storage;
pub mod transcribe;
