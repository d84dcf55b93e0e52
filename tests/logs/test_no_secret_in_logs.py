"""The last step of a full test run: no log of any server the run started holds a secret.

Every server of the run (the in-process ones of `cargo test`, the `ringtrack serve` processes
of the crash and several-node tests, the peer tests' servers) logs at debug level into
RINGTRACK_TEST_LOG_DIR, and every API key, webhook secret, sealing key and carrier auth
token the run created or was handed is written to secrets.txt there. `scripts/test` empties
the directory before the run.
"""

import glob
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN_LOGS = os.environ.get("RINGTRACK_TEST_LOG_DIR", os.path.join(ROOT, "target", "test-logs"))
# An API key's shape: whatever made it, none may be logged whole.
KEY_SHAPE = r"cs_key_[A-Za-z0-9]{32}"


def _grep(args, logs):
    found = subprocess.run(["grep", "-o", "-h", *args, "--", *logs], capture_output=True, text=True)
    assert found.returncode in (0, 1), found.stderr
    return set(found.stdout.split())


def leaks(logs, secrets_file):
    """The listed secrets, and the key-shaped strings, that the logs hold (grep's
    many-string search: the run's logs are tens of megabytes)."""
    return _grep(["-F", "-f", secrets_file], logs) | _grep(["-E", KEY_SHAPE], logs)


def test_the_check_finds_what_it_looks_for(tmp_path):
    secrets = tmp_path / "secrets.txt"
    secrets.write_text("whsec_Zm9vYmFy\ncs_key_" + "a" * 32 + "\n")
    clean, leaky = tmp_path / "clean.log", tmp_path / "leaky.log"
    clean.write_text("GET /api/v1/calls status=200 key_prefix=cs_key_aaaa\n")
    leaky.write_text("auth=whsec_Zm9vYmFy done\nBearer cs_key_" + "b" * 32 + "\n")
    assert leaks([str(clean)], str(secrets)) == set()
    assert leaks([str(clean), str(leaky)], str(secrets)) == {"whsec_Zm9vYmFy", "cs_key_" + "b" * 32}


def test_no_log_of_the_run_holds_a_secret(tmp_path):
    with open(os.path.join(RUN_LOGS, "secrets.txt")) as listed:
        secrets = {line.strip() for line in listed if line.strip()}
    # Each once, and no empty line (which grep would find everywhere).
    secrets_file = tmp_path / "secrets.txt"
    secrets_file.write_text("".join(s + "\n" for s in sorted(secrets)))
    logs = sorted(glob.glob(os.path.join(RUN_LOGS, "*.log")))
    kinds = {os.path.basename(path).split("-")[0] for path in logs}
    size = sum(os.path.getsize(path) for path in logs)
    # A run that logged or created nothing proves nothing.
    assert len(secrets) >= 100, f"only {len(secrets)} secrets were written down"
    assert {"in", "server", "peer"} <= kinds, f"logs from {kinds} only"
    assert size > 1_000_000, f"only {size} bytes of logs"
    found = leaks(logs, str(secrets_file))
    assert not found, f"{len(found)} secret(s) logged, e.g. {sorted(found)[0][:12]}…"
    print(f"{len(secrets)} secrets checked against {len(logs)} logs ({size / 1e6:.1f} MB): none found")
