#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, combined broker + controller) for running and testing.
#
#   kafka.sh fetch    resolve the broker jars from Maven Central into deploy/kafka/.jars, and
#                     MirrorMaker 2's (mirrormaker/pom.xml) into deploy/kafka/.jars-mm2
#   kafka.sh start    format storage if needed, start the broker, wait until it answers
#   kafka.sh stop     stop it cleanly (SIGTERM, then wait for the controlled shutdown)
#   kafka.sh status   exit 0 if running
#   kafka.sh reset    stop and delete its data
#
# Environment: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), KAFKA_DATA_DIR
# (.data/kafka-<port>), KAFKA_HEAP (512m). Everything it writes lives in git-ignored folders.
# Brokers with other ports and data folders run side by side, each its own cluster.
# Below a 384m heap, lower log.cleaner.dedupe.buffer.size (KAFKA_EXTRA_CONFIG): the log cleaner
# allocates it, 128 MB by default, on the heap at start.
# For secured listeners: KAFKA_EXTRA_CONFIG names a properties file appended to the generated
# server.properties (a key given there replaces the generated one, e.g. `listeners`), and
# KAFKA_SCRAM_USERS lists SCRAM credentials created when the storage is first formatted, one
# StorageTool --add-scram value per line, e.g. SCRAM-SHA-512=[name=pipeline,password=...].
# The PLAINTEXT listener on KAFKA_PORT stays: the start check and the tools use it.
# Under an authorizer (authorizer.class.name in KAFKA_EXTRA_CONFIG) its clients are
# User:ANONYMOUS, which must never be a super user: tests/integration/secure_kafka.py moves the
# controller and inter-broker listeners to mutual TLS and makes their principal the super user.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
jars="$here/.jars"
port="${KAFKA_PORT:-9092}"
cport="${KAFKA_CONTROLLER_PORT:-9093}"
data="${KAFKA_DATA_DIR:-$root/.data/kafka-$port}"
heap="${KAFKA_HEAP:-512m}"
pidfile="$data/broker.pid"
props="$data/server.properties"

log() { echo "kafka: $*" >&2; }

fetch_into() {
  local pom="$1" dir="$2" what="$3"
  if [[ -f "$dir/.complete" && "$dir/.complete" -nt "$pom" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || { log "mvn not found (install Maven)"; exit 1; }
  log "resolving the $what jars from Maven Central"
  rm -rf "$dir"
  mvn -q -B -f "$pom" dependency:copy-dependencies -DoutputDirectory="$dir" -DincludeScope=runtime
  touch "$dir/.complete"
}

fetch() {
  fetch_into "$here/pom.xml" "$jars" "Apache Kafka"
}

fetch_all() {
  fetch
  # MirrorMaker 2 (mirrormaker.sh) on a classpath of its own: Connect's Jetty and Jersey stay
  # off the broker's.
  fetch_into "$here/mirrormaker/pom.xml" "$here/.jars-mm2" "MirrorMaker 2"
}

running() {
  [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

answers() {
  # A TCP connect is not enough: the broker accepts before it has joined the quorum.
  # It is ready once it has written the "Kafka Server started" line to its log.
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && grep -q "Kafka Server started" "$data/logs/server.log" 2>/dev/null
}

run_java() {
  java -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dkafka.logs.dir="$data/logs" -Dlog4j2.configurationFile="$here/log4j2.properties" \
    -cp "$jars/*" "$@"
}

write_props() {
  mkdir -p "$data/logs"
  cat >"$props" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$data/log
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
message.max.bytes=4194304
log.retention.hours=168
log.segment.bytes=134217728
PROPS
  if [[ -n "${KAFKA_EXTRA_CONFIG:-}" ]]; then
    # Java properties: a key that appears again later wins, so these override the above.
    { echo "# from $KAFKA_EXTRA_CONFIG"; cat "$KAFKA_EXTRA_CONFIG"; } >>"$props"
  fi
}

scram_args() {
  local user
  while IFS= read -r user; do
    if [[ -n "$user" ]]; then printf '%s\0%s\0' --add-scram "$user"; fi
  done <<<"${KAFKA_SCRAM_USERS:-}"
}

start() {
  fetch
  if running; then
    log "already running (pid $(cat "$pidfile")) on 127.0.0.1:$port"
    return 0
  fi
  write_props
  if [[ ! -f "$data/log/meta.properties" ]]; then
    log "formatting KRaft storage in $data/log"
    local extra=()
    mapfile -d '' -t extra < <(scram_args)
    run_java kafka.tools.StorageTool format --standalone "${extra[@]}" \
      -t "$(cat "$data/cluster.id" 2>/dev/null || uuid_gen)" -c "$props" >"$data/logs/format.log" 2>&1 \
      || { log "format failed:"; cat "$data/logs/format.log" >&2; exit 1; }
  fi
  : >"$data/logs/server.log"
  # Its own session, so that Ctrl-C in the terminal that started it does not reach it.
  setsid nohup java -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dkafka.logs.dir="$data/logs" -Dlog4j2.configurationFile="$here/log4j2.properties" \
    -cp "$jars/*" kafka.Kafka "$props" >"$data/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    if answers; then
      log "running (pid $(cat "$pidfile")) on 127.0.0.1:$port; logs in $data/logs"
      return 0
    fi
    running || { log "broker exited; see $data/logs"; tail -20 "$data/logs/stdout.log" >&2; exit 1; }
    sleep 0.5
  done
  log "broker did not answer within 60 s; see $data/logs"
  exit 1
}

uuid_gen() {
  # A KRaft cluster id is a base64url-encoded UUID (22 characters).
  local id
  # Never one starting with "-", which the format tool would read as an option (Kafka's own
  # Uuid.randomUuid skips those too).
  id="$(python3 -c 'import base64,uuid
while (i := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")).startswith("-"): pass
print(i)')"
  echo "$id" >"$data/cluster.id"
  echo "$id"
}

stop() {
  if ! running; then
    log "not running"
    rm -f "$pidfile"
    return 0
  fi
  local pid
  pid="$(cat "$pidfile")"
  kill -TERM "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; log "stopped"; return 0; }
    sleep 0.5
  done
  log "no clean shutdown after 30 s; killing"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

case "${1:-}" in
  fetch) fetch_all ;;
  start) start ;;
  stop) stop ;;
  status) if running && answers; then log "running on 127.0.0.1:$port"; else log "not running"; exit 1; fi ;;
  reset) stop; rm -rf "$data"; log "data removed" ;;
  *) echo "usage: $0 {fetch|start|stop|status|reset}" >&2; exit 2 ;;
esac
