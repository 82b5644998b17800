#!/usr/bin/env bash
# `make run`: the local broker, PostgreSQL, topics, one worker, the officers' workbench, the
# archiver and a steady sample feed; then the hits as they arrive, until Ctrl-C. The broker and
# PostgreSQL keep running afterwards (`make stop` ends them).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bin="$root/.venv/bin"
run_dir="$root/.data/run"
mkdir -p "$run_dir"
export SCREENING_KAFKA_BOOTSTRAP="${SCREENING_KAFKA_BOOTSTRAP:-127.0.0.1:9092}"
export SCREENING_DATA_DIR="${SCREENING_DATA_DIR:-$root/.data/worker}"
# The logs under .data/run are read by a person: text (SCREENING_LOG_FORMAT=json for jq).
export SCREENING_LOG_FORMAT="${SCREENING_LOG_FORMAT:-text}"
web_port="${SCREENING_WEB_PORT:-6066}"
feed_rate="${FEED_RATE:-20}"
workbench_port="${SCREENING_WORKBENCH_PORT:-8088}"
if [[ -z "${SCREENING_DEMO_PASSWORD:-}" ]]; then
  # Made up for this run: the demo accounts never have a password known in advance.
  SCREENING_DEMO_PASSWORD="$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | cut -c1-16)"
fi
export SCREENING_DEMO_PASSWORD

pids=()
cleanup() {
  trap - EXIT INT TERM
  echo
  echo "stopping the worker, the workbench, the archiver, the sample feed and Prometheus"
  echo "(the broker and PostgreSQL keep running: make stop)"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

deploy/kafka/kafka.sh start
deploy/postgres/postgres.sh start
export SCREENING_DATABASE_URL="${SCREENING_DATABASE_URL:-$(deploy/postgres/postgres.sh url)}"
"$bin/screening" topics ensure
# Reference data and rules are compacted topics: loading them again changes nothing.
"$bin/screening" aeo load deploy/sample-data/aeo.csv
"$bin/screening" watchlist load deploy/sample-data/watchlist.csv
"$bin/screening" rules publish rules --reason "make run: the rule set of this checkout"

echo "starting the worker (log: $run_dir/worker.log)"
"$bin/screening" worker --web-port "$web_port" >"$run_dir/worker.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
  grep -q "\[^Worker\]: Ready" "$run_dir/worker.log" 2>/dev/null && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "the worker stopped:"; tail -30 "$run_dir/worker.log"; exit 1; }
  sleep 0.5
done

echo "starting the workbench (log: $run_dir/workbench.log)"
SCREENING_WORKBENCH_PORT="$workbench_port" "$bin/screening" workbench --demo-accounts \
  --no-ensure-topics >"$run_dir/workbench.log" 2>&1 &
pids+=($!)
workbench_pid=$!
for _ in $(seq 1 120); do
  "$bin/python" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$workbench_port/readyz', timeout=2)" 2>/dev/null && break
  kill -0 "$workbench_pid" 2>/dev/null || { echo "the workbench stopped:"; tail -30 "$run_dir/workbench.log"; exit 1; }
  sleep 0.5
done

echo "starting the archiver (log: $run_dir/archive.log, files in .data/archive)"
SCREENING_ARCHIVE_DIR="${SCREENING_ARCHIVE_DIR:-$root/.data/archive}" "$bin/screening" archive run \
  >"$run_dir/archive.log" 2>&1 &
pids+=($!)

# Prometheus with the project's scrape config and alert rules, where it is installed.
prometheus_port="${PROMETHEUS_PORT:-9090}"
prometheus_line="not installed (Debian package prometheus), skipped"
if command -v prometheus >/dev/null; then
  prometheus_dir="$root/.data/prometheus"
  config="$root/deploy/prometheus/prometheus.yml"
  if [[ $web_port != 6066 ]]; then
    # The config scrapes the default port: a copy that scrapes this worker's.
    mkdir -p "$prometheus_dir/config"
    cp "$root"/deploy/prometheus/*.yml "$prometheus_dir/config/"
    sed -i "s/127.0.0.1:6066/127.0.0.1:$web_port/" "$prometheus_dir/config/prometheus.yml"
    config="$prometheus_dir/config/prometheus.yml"
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$prometheus_port") 2>/dev/null; then
    prometheus_line="port $prometheus_port is taken, not started (PROMETHEUS_PORT chooses another)"
  else
    echo "starting Prometheus (log: $run_dir/prometheus.log)"
    prometheus --config.file="$config" --storage.tsdb.path="$prometheus_dir/data" \
      --web.listen-address="127.0.0.1:$prometheus_port" >"$run_dir/prometheus.log" 2>&1 &
    pids+=($!)
    prometheus_line="http://127.0.0.1:$prometheus_port (alerts: /alerts)"
  fi
fi

echo "feeding sample declarations at $feed_rate/s (log: $run_dir/feed.log)"
"$bin/screening" generate --count 1000000 --rate "$feed_rate" --risky-share 0.15 \
  --malformed-share 0.02 --publish-aeo --no-progress >"$run_dir/feed.log" 2>&1 &
pids+=($!)

cat <<INFO

  workbench: http://127.0.0.1:$workbench_port/
    log in as officer, supervisor or analyst; password: $SCREENING_DEMO_PASSWORD
  metrics:      http://127.0.0.1:$web_port/metrics
  prometheus:   $prometheus_line
  assessments:  customs.assessments.v1   dead letters: customs.declarations.dlq.v1
  Ctrl-C stops the worker, the workbench, the feed and Prometheus.

INFO
"$bin/screening" hits --follow
