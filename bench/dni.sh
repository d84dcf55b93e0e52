#!/usr/bin/env bash
# Session-lease throughput: wrk posts new visits (each with its own visitor id) to
# /dni/v1/sessions of a 100-number pool on the release server, on SQLite and PostgreSQL;
# /healthz in the same run is the machine's ceiling. Every request reads the pool and
# writes a session: the first 100 lease a number, the rest are shown the target (overflow),
# which is the same write with an overflow count instead of the number's row.
#
#   bench/dni.sh [sqlite|postgres|both]
source "$(dirname "$0")/../scripts/lib/setup.sh"
cd "$(dirname "$0")/.."

which_backends=${1:-both}
duration=${BENCH_SECONDS:-10}
connections=${BENCH_CONNECTIONS:-32}
ensure_rust
ensure_apt wrk curl
say "building ringtrack (release)"
cargo build --release --locked -p ringtrack >&2
bin=$PWD/target/release/ringtrack
postgres=${RINGTRACK_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
lua=$(mktemp /tmp/dni-XXXX.lua)
cat >"$lua" <<'LUA'
local pool = os.getenv("POOL")
local n = 0
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
request = function()
  n = n + 1
  local body = string.format('{"pool_id":"%s","visitor_id":"v%d-%d","landing_page":"https://acme.test/?utm_source=google&gclid=x%d"}',
    pool, math.random(1, 1000000000), n, n)
  return wrk.format("POST", "/dni/v1/sessions", {["Content-Type"] = "text/plain"}, body)
end
LUA

rps() { awk '/^Requests\/sec/ {printf "%.0f", $2}'; }

run_backend() {
  local backend=$1 dir url database=""
  dir=$(mktemp -d /tmp/ringtrack-dni-XXXX)
  if [ "$backend" = postgres ]; then
    database="ringtrack_dni_$RANDOM$RANDOM"
    psql "$postgres" -qc "CREATE DATABASE $database"
    url="${postgres%/*}/$database"
  else
    url="sqlite://$dir/ringtrack.db"
  fi
  RINGTRACK_TRANSCRIBER=none RINGTRACK_LOG=warn RINGTRACK_DNI_IP_RATE=1000000 RINGTRACK_DNI_IP_BURST=1000000 \
    RINGTRACK_DNI_POOL_RATE=1000000 RINGTRACK_DNI_POOL_BURST=1000000 RINGTRACK_DNI_LEASES_PER_ADDRESS=1000000 \
    "$bin" --data-dir "$dir" --database-url "$url" serve --bind 127.0.0.1:18181 >"$dir/out" 2>"$dir/err" &
  local pid=$!
  for _ in $(seq 1 100); do grep -q "listening" "$dir/out" 2>/dev/null && break; sleep 0.1; done
  local key business base=http://127.0.0.1:18181
  key=$(grep -o 'cs_key_[A-Za-z0-9]*' "$dir/out" | head -1)
  business=$(grep -o 'business id [0-9a-f-]*' "$dir/out" | head -1 | cut -d' ' -f3)
  "$bin" --data-dir "$dir" --database-url "$url" admin credit --business "$business" --cents 1000000 >/dev/null
  local ids=()
  for _ in $(seq 1 100); do
    ids+=("\"$(curl -s -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
      -d '{"area_code":"573"}' "$base/api/v1/numbers/purchase" | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)\"")
  done
  local pool
  pool=$(curl -s -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d "{\"name\":\"Bench\",\"target_number\":\"5735550100\",\"number_ids\":[$(IFS=,; echo "${ids[*]}")]}" \
    "$base/api/v1/number-pools" | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
  local ceiling leases
  ceiling=$(wrk -t2 -c"$connections" -d"${duration}s" "$base/healthz" | rps)
  leases=$(POOL=$pool wrk -t2 -c"$connections" -d"${duration}s" -s "$lua" "$base/dni/v1/sessions" | rps)
  local stored
  stored=$(curl -s -H "Authorization: Bearer $key" "$base/api/v1/number-pools/$pool" | grep -o '"active_sessions":[0-9]*')
  kill "$pid"; wait "$pid" 2>/dev/null || true
  [ -n "$database" ] && psql "$postgres" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)"
  rm -rf "$dir"
  printf '| %s | %s | %s | %.1f%% | %s |\n' "$backend" "$leases" "$ceiling" \
    "$(awk -v a="$leases" -v b="$ceiling" 'BEGIN {print 100 * a / b}')" "$stored"
}

echo "| backend | session requests/s | /healthz requests/s | ratio | after the run |"
echo "| --- | --- | --- | --- | --- |"
case $which_backends in
  sqlite|postgres) run_backend "$which_backends" ;;
  both) run_backend sqlite; run_backend postgres ;;
  *) die "usage: bench/dni.sh [sqlite|postgres|both]" ;;
esac
rm -f "$lua"
