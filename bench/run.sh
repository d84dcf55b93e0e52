#!/usr/bin/env bash
# The read-side benchmark: seeds 1,000,000 calls, starts the release server, and drives it
# with wrk from this same machine, on SQLite and on PostgreSQL. `/healthz` in the same run
# is the machine's ceiling; every other figure is also given as a ratio to it.
#
#   bench/run.sh [sqlite|postgres|both] [calls]      (default: both, 1000000)
#
# Writes bench/results-<backend>.md and prints them; bench/RESULTS.md keeps the last figures.
source "$(dirname "$0")/../scripts/lib/setup.sh"
cd "$(dirname "$0")/.."

which_backends=${1:-both}
calls=${2:-1000000}
duration=${BENCH_SECONDS:-10}
connections=64

ensure_rust
ensure_apt wrk curl
say "building ringtrack (release)"
cargo build --release --locked -p ringtrack >&2
bin=$PWD/target/release/ringtrack
postgres=${RINGTRACK_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}

# wrk's requests/s, p50 and p99 (ms) and failed requests (non-2xx or over 30 s) for a URL,
# with the API key (or, for the web app's pages, the session cookie).
measure() {
  local url=$1 out
  out=$(wrk -t2 -c"$connections" -d"${duration}s" --timeout 30s --latency -H "$(credentials "$url")" "$url")
  local rps p50 p99 bad timeouts
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  bad=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  timeouts=$(awk '/Socket errors/ {gsub(",", ""); print $NF}' <<<"$out")
  echo "$rps $(to_ms "$p50") $(to_ms "$p99") $(( ${bad:-0} + ${timeouts:-0} ))"
}

# wrk prints latencies as 1.23ms, 456.00us or 1.20s.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
    else printf "%s", v }'
}

# The header a request of ours carries: the session cookie for the web app's pages, the
# API key for everything else.
credentials() {
  case "$1" in
    "$base"/calls* | "$base"/dashboard* | "$base"/reports*) echo "Cookie: $cookie" ;;
    *) echo "Authorization: Bearer $key" ;;
  esac
}

peak_rss_mb() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

run_backend() {
  local backend=$1 dir url database=""
  dir=$(mktemp -d /tmp/ringtrack-bench-XXXX)
  if [ "$backend" = postgres ]; then
    database="ringtrack_bench_$RANDOM$RANDOM"
    psql "$postgres" -qc "CREATE DATABASE $database"
    url="${postgres%/*}/$database"
  else
    url="sqlite://$dir/ringtrack.db"
  fi
  say "$backend: seeding $calls calls"
  local seed_start seed_end
  seed_start=$(date +%s.%N)
  seeded=$("$bin" --data-dir "$dir" --database-url "$url" seed --calls "$calls" --numbers 200 --days 365)
  seed_end=$(date +%s.%N)
  key=$(sed -E 's/.*"api_key":"([^"]+)".*/\1/' <<<"$seeded")
  local business
  business=$(sed -E 's/.*"business_id":"([^"]+)".*/\1/' <<<"$seeded")
  echo "a bench password" | "$bin" --data-dir "$dir" --database-url "$url" admin create-user --business "$business" \
    --email bench@example.com --role admin --password-stdin >/dev/null
  local port=$((20000 + RANDOM % 20000))
  RINGTRACK_LOG=warn RINGTRACK_API_RATE=1000000 RINGTRACK_API_BURST=1000000 "$bin" --data-dir "$dir" --database-url "$url" serve --bind "127.0.0.1:$port" >/dev/null 2>&1 &
  local server=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
  local base="http://127.0.0.1:$port"
  # A person signed in to the web app: its session cookie.
  cookie=$(curl -fs -o /dev/null -D - -H "Origin: $base" --data-urlencode email=bench@example.com \
    --data-urlencode "password=a bench password" "$base/login" | sed -nE 's/^set-cookie: ([^;]+);.*/\1/ip')
  # The seeded business's zone, changed in the database between measurements (the server
  # reads it each request): the same calls, grouped in another zone.
  set_zone() {
    if [ "$backend" = postgres ]; then
      psql "$url" -qc "UPDATE businesses SET timezone = '$1'"
    else
      python3 -c "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('UPDATE businesses SET timezone = ?', (sys.argv[2],)); c.commit()" "$dir/ringtrack.db" "$1"
    fi
  }
  local analytics_30 analytics_all analytics_hours dashboard_all report_year
  local to from
  to=$(date -u +%Y-%m-%d)
  from=$(date -u -d '30 days ago' +%Y-%m-%d)
  # The dashboard's longest period (ten years: every seeded call), and a year's report.
  dashboard_all="/dashboard?date_from=$(date -u -d '3650 days ago' +%Y-%m-%d)&date_to=$to"
  report_year="/reports?group_by=source,date&metrics=count,qualified,qualified_pct&date_from=$(date -u -d '364 days ago' +%Y-%m-%d)&date_to=$to"
  analytics_30="/api/v1/analytics/calls?group_by=source,date&metrics=count,answered,qualified_pct&date_from=$from&date_to=$to"
  analytics_all="/api/v1/analytics/calls?group_by=number_id,month,status&metrics=count,avg_duration,avg_ai_score"
  analytics_hours="/api/v1/analytics/calls?group_by=utm_campaign,hour_of_day,day_of_week&metrics=count,qualified"
  # The first analytics request of a node loads the business's calls into memory.
  local cold
  cold=$(curl -fs -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $key" "$base/api/v1/analytics/calls?group_by=status" |
    awk '{printf "%.2f", $1}')
  local call_id
  call_id=$(curl -fs -H "Authorization: Bearer $key" "$base/api/v1/calls?per_page=1" | sed -E 's/.*"calls":\[\{"id":"([^"]+)".*/\1/')

  # One request at a time: the cost of each, without queueing behind 63 others. Measured
  # before the load phases, which leave queued requests (analytics) running for a while.
  local alone
  alone=$({
    echo
    echo "One request at a time (curl): the first time a question is asked (a node keeps the"
    echo "latest answers until a day they read changes), then the median of 4 asked again:"
    echo
    echo "| endpoint | first ms | again ms |"
    echo "| --- | ---: | ---: |"
    for zone_path in "America/Chicago|/api/v1/calls?per_page=25" "America/Chicago|/api/v1/dashboard/stats?date_from=$from&date_to=$to" \
      "America/Chicago|/api/v1/dashboard/stats" "America/Chicago|$analytics_30" "America/Chicago|$analytics_all" \
      "America/Chicago|$analytics_hours" "Asia/Kolkata|$analytics_30" "Asia/Kolkata|$analytics_all" "Asia/Kathmandu|$analytics_hours" \
      "America/Chicago|/calls" "America/Chicago|/calls?status=answered&date_from=$from&date_to=$to" "America/Chicago|/calls/$call_id" \
      "America/Chicago|/dashboard" "America/Chicago|$dashboard_all" "America/Chicago|$report_year"; do
      local zone=${zone_path%%|*} path=${zone_path#*|}
      set_zone "$zone"
      times=$(for _ in 1 2 3 4 5; do curl -fs -o /dev/null -w '%{time_total}\n' -H "$(credentials "$base$path")" "$base$path"; done)
      first=$(head -1 <<<"$times" | awk '{printf "%.1f", $1 * 1000}')
      again=$(tail -4 <<<"$times" | sort -n | sed -n 2p | awk '{printf "%.1f", $1 * 1000}')
      echo "| GET $path ($zone) | $first | $again |"
    done
    set_zone America/Chicago
  })
  local report=bench/results-$backend.md
  {
    echo "### $backend — $calls calls, $connections connections, ${duration} s each, wrk on the same 2-core machine"
    echo
    printf 'Seeding: %.1f s.\n\n' "$(echo "$seed_end - $seed_start" | bc)"
    echo "| endpoint | requests/s | ratio to /healthz | p50 ms | p99 ms | failed |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  } >"$report"
  local ceiling=""
  while IFS='|' read -r name zone path; do
    set_zone "$zone"
    read -r rps p50 p99 failed < <(measure "$base$path")
    [ -n "$ceiling" ] || ceiling=$rps
    printf '| %s | %.0f | %.1f%% | %s | %s | %s |\n' "$name" "$rps" "$(echo "$rps * 100 / $ceiling" | bc -l)" "$p50" "$p99" "$failed" >>"$report"
  done <<EOF
GET /healthz (the ceiling)|America/Chicago|/healthz
GET /api/v1/calls?per_page=25|America/Chicago|/api/v1/calls?per_page=25
GET /api/v1/calls (answered, 30 days)|America/Chicago|/api/v1/calls?per_page=25&status=answered&date_from=$from&date_to=$to
GET /api/v1/calls/{id}|America/Chicago|/api/v1/calls/$call_id
GET /api/v1/dashboard/stats (30 days)|America/Chicago|/api/v1/dashboard/stats?date_from=$from&date_to=$to
GET /api/v1/dashboard/stats (all time)|America/Chicago|/api/v1/dashboard/stats
analytics: source, date (30 days)|America/Chicago|$analytics_30
analytics: number, month, status (all time)|America/Chicago|$analytics_all
analytics: campaign, hour, weekday (all time)|America/Chicago|$analytics_hours
analytics: source, date (30 days), Asia/Kolkata|Asia/Kolkata|$analytics_30
analytics: number, month, status (all time), Asia/Kolkata|Asia/Kolkata|$analytics_all
analytics: campaign, hour, weekday (all time), Asia/Kathmandu|Asia/Kathmandu|$analytics_hours
the web app: GET /calls (the log page)|America/Chicago|/calls
the web app: GET /calls (answered, 30 days)|America/Chicago|/calls?status=answered&date_from=$from&date_to=$to
the web app: GET /calls/{id} (a call's page)|America/Chicago|/calls/$call_id
the web app: GET /dashboard (30 days)|America/Chicago|/dashboard
the web app: GET /dashboard (ten years: every call)|America/Chicago|$dashboard_all
the web app: GET /reports (source, date; a year)|America/Chicago|$report_year
EOF
  set_zone America/Chicago
  echo "$alone" >>"$report"
  printf '\nThe first analytics request of the node (loads every call into memory): %s s.\n' "$cold" >>"$report"
  # Twice: the first reads the table from disk as much as the OS's page cache has let go of
  # it (on this VM, most of it after the phases above), the second from memory.
  say "$backend: full export"
  echo >>"$report"
  local export_start export_end rows attempt
  for attempt in first again; do
    export_start=$(date +%s.%N)
    rows=$(curl -fs -H "Authorization: Bearer $key" "$base/api/v1/calls/export" | wc -l)
    export_end=$(date +%s.%N)
    printf 'Export (%s): %d rows in %.1f s = %.0f rows/s.\n' "$attempt" "$((rows - 1))" \
      "$(echo "$export_end - $export_start" | bc)" "$(echo "($rows - 1) / ($export_end - $export_start)" | bc -l)" >>"$report"
  done
  local rss
  rss=$(peak_rss_mb "$server")
  echo "Server peak RSS over the whole run: $rss MB." >>"$report"
  kill "$server"
  wait "$server" 2>/dev/null || true
  rm -rf "$dir"
  [ -z "$database" ] || psql "$postgres" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)"
  cat "$report"
}

case "$which_backends" in
  sqlite | postgres) run_backend "$which_backends" ;;
  both) run_backend sqlite; run_backend postgres ;;
  *) die "usage: bench/run.sh [sqlite|postgres|both] [calls]" ;;
esac
