#!/usr/bin/env bash
# `make c2c-demo`: two customs administrations on one machine. Two Kafka clusters (aliases eu on
# 127.0.0.1:9092 and cn on 127.0.0.1:9192), MirrorMaker 2 both ways, a worker each with its own
# sharing agreement (deploy/c2c-demo/<alias>/), then one consignment seen by both: the finding
# made by the first administration changes the second's assessment of the same UCR. Ends with
# the SAFE performance measures of both. The second cluster and MirrorMaker 2 are stopped at the
# end; the first broker keeps running, as after `make run` (`make stop` ends it).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bin="$root/.venv/bin"
demo="$root/.data/c2c-demo"
mkdir -p "$demo"
first="127.0.0.1:${KAFKA_PORT:-9092}"
second_port="${C2C_SECOND_PORT:-9192}"
second="127.0.0.1:$second_port"
export MM2_A_ALIAS=eu MM2_A_BOOTSTRAP="$first" MM2_B_ALIAS=cn MM2_B_BOOTSTRAP="$second"
export MM2_EXTRA_TOPICS='customs\.aeo\.registry\.v1'
export MM2_DATA_DIR="$demo/mirrormaker"
# The workers' logs are read by a person: text (SCREENING_LOG_FORMAT=json for jq).
export SCREENING_LOG_FORMAT="${SCREENING_LOG_FORMAT:-text}"

pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  deploy/kafka/mirrormaker.sh stop || true
  KAFKA_PORT="$second_port" KAFKA_CONTROLLER_PORT=$((second_port + 1)) deploy/kafka/kafka.sh stop || true
}
trap cleanup EXIT INT TERM

deploy/kafka/kafka.sh start
KAFKA_PORT="$second_port" KAFKA_CONTROLLER_PORT=$((second_port + 1)) deploy/kafka/kafka.sh start
for bootstrap in "$first" "$second"; do
  "$bin/screening" topics ensure --bootstrap "$bootstrap"
  "$bin/screening" rules publish rules --bootstrap "$bootstrap" --reason "make c2c-demo"
done
"$bin/screening" watchlist load deploy/sample-data/watchlist.csv --bootstrap "$first"
echo "starting MirrorMaker 2 between eu ($first) and cn ($second)"
deploy/kafka/mirrormaker.sh start

start_worker() {  # alias, bootstrap, administration, web port
  local log="$demo/worker-$1.log"
  echo "starting the worker of $1 (log: $log)"
  SCREENING_KAFKA_BOOTSTRAP="$2" SCREENING_ADMINISTRATION="$3" \
    SCREENING_AGREEMENTS_DIR="$root/deploy/c2c-demo/$1" SCREENING_DATA_DIR="$demo/worker-$1" \
    "$bin/screening" worker --web-port "$4" >"$log" 2>&1 &
  pids+=($!)
  local pid=$!
  for _ in $(seq 1 180); do
    grep -q "\[^Worker\]: Ready" "$log" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { echo "the worker of $1 stopped:"; tail -30 "$log"; exit 1; }
    sleep 0.5
  done
  echo "the worker of $1 was not ready in time"; tail -30 "$log"; exit 1
}
start_worker eu "$first" NL 6167
start_worker cn "$second" CN 6168

"$bin/python" -m pipeline.samples.c2c_demo --first "$first" --second "$second" --first-alias eu

today="$(date -u +%F)"
for pair in "eu $first" "cn $second"; do
  set -- $pair
  echo
  echo "SAFE performance measures of $1, today:"
  "$bin/screening" report safe --from "$today" --to "$today" --bootstrap "$2"
done
