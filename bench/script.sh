#!/usr/bin/env bash
# The tracking script's cost on a big page (10,000 elements, 100 changes a second), in
# Debian's Chromium, with and without the script: see bench/script_cost.py.
source "$(dirname "$0")/../scripts/lib/setup.sh"
cd "$(dirname "$0")/.."
ensure_rust
ensure_peers
cargo build --locked -p ringtrack >&2
target/peer-venv/bin/python bench/script_cost.py
