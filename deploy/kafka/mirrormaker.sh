#!/usr/bin/env bash
# Apache Kafka MirrorMaker 2 (dedicated mode) between two customs administrations' clusters:
# each side's outbound topic (customs.c2c.outbound.v1) is replicated to the other as
# `<source alias>.customs.c2c.outbound.v1` (DefaultReplicationPolicy), with heartbeats
# (`<alias>.heartbeats`, which pipeline/c2c/link.py turns into a lag) and checkpoints (consumer
# offsets translated for the other side).
#
#   mirrormaker.sh start    write mm2.properties, start MirrorMaker 2, wait until both flows run
#   mirrormaker.sh stop     stop it (SIGTERM; its source offsets are flushed on the way out)
#   mirrormaker.sh status   exit 0 if running
#   mirrormaker.sh reset    stop and delete its data folder (not its state on the clusters)
#
# The jars come from `kafka.sh fetch` (deploy/kafka/.jars-mm2). A second local cluster to mirror
# to: KAFKA_PORT=9192 KAFKA_CONTROLLER_PORT=9193 deploy/kafka/kafka.sh start.
#
# One process runs both flows here. Between real administrations each runs its own, with
# MM2_ONLY=<its alias>: it pulls the partner's topic into its own cluster and writes nothing on
# the partner's but its offset syncs (see below); both running keeps heartbeats flowing both ways.
#
# Environment:
#   MM2_A_ALIAS (eu), MM2_A_BOOTSTRAP (127.0.0.1:9092)   one administration's cluster
#   MM2_B_ALIAS (cn), MM2_B_BOOTSTRAP (127.0.0.1:9192)   the other's
#   MM2_TOPICS        topic regexes replicated both ways (customs\.c2c\.outbound\.v1)
#   MM2_EXTRA_TOPICS  more, comma-separated, e.g. customs\.aeo\.registry\.v1
#   MM2_REPLICATION_FACTOR (1)   of the remote topics and of MM2's own topics
#   MM2_REFRESH_S (10)           how soon a new matching topic or consumer group is picked up
#   MM2_CHECKPOINT_S (10)        how often offsets are translated (and synced to the other side)
#   MM2_SYNC_GROUP_OFFSETS (false) also commit translated offsets into the other cluster's
#                     groups: off, as no group reads both a topic and its copy in this exchange,
#                     and it would need the right to alter the partner's groups
#   MM2_ONLY          run only the flows into this alias's cluster (--clusters)
#   MM2_DATA_DIR (.data/mirrormaker-<A>-<B>), MM2_HEAP (256m)
#   MM2_EXTRA_CONFIG  a properties file appended to the generated mm2.properties (a key given
#                     there replaces the generated one)
#
# Security between the clusters goes in MM2_EXTRA_CONFIG, per alias; MirrorMaker passes a
# cluster's settings to its consumers, producers and admin clients, e.g.
#   cn.bootstrap.servers = kafka.customs.cn.example:9094
#   cn.security.protocol = SASL_SSL
#   cn.sasl.mechanism = SCRAM-SHA-512
#   cn.sasl.jaas.config = org.apache.kafka.common.security.scram.ScramLoginModule required \
#     username="mm2-eu" password="${file:/etc/mm2/secrets.properties:cn.password}";
#   cn.ssl.truststore.location = /etc/mm2/cn-truststore.p12
#   config.providers = file
#   config.providers.file.class = org.apache.kafka.common.config.provider.FileConfigProvider
# MirrorMaker's principal for the flow partner->us needs, on the partner's cluster: Read and
# DescribeConfigs on the mirrored topics and on `heartbeats`, Describe on the consumer groups
# whose offsets it translates (checkpoints), Create and Write on `mm2-offset-syncs.<our alias>.internal` (offset syncs live
# on the source); on ours: Create and Write on `<partner>.*`, `heartbeats` and
# `mm2-*.<partner>.internal`, and the group `<partner>-mm2`. sync.topic.acls.enabled is off:
# who may read a partner's messages here is our own decision, not a copy of the partner's ACLs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
jars="$here/.jars-mm2"
a="${MM2_A_ALIAS:-eu}"
b="${MM2_B_ALIAS:-cn}"
a_bootstrap="${MM2_A_BOOTSTRAP:-127.0.0.1:9092}"
b_bootstrap="${MM2_B_BOOTSTRAP:-127.0.0.1:9192}"
topics="${MM2_TOPICS:-customs\\.c2c\\.outbound\\.v1}"
if [[ -n "${MM2_EXTRA_TOPICS:-}" ]]; then topics="$topics, $MM2_EXTRA_TOPICS"; fi
rf="${MM2_REPLICATION_FACTOR:-1}"
refresh="${MM2_REFRESH_S:-10}"
checkpoint="${MM2_CHECKPOINT_S:-10}"
sync_groups="${MM2_SYNC_GROUP_OFFSETS:-false}"
only="${MM2_ONLY:-}"
data="${MM2_DATA_DIR:-$root/.data/mirrormaker-$a-$b}"
heap="${MM2_HEAP:-256m}"
pidfile="$data/mirrormaker.pid"
props="$data/mm2.properties"
logfile="$data/logs/mirrormaker.log"

log() { echo "mirrormaker: $*" >&2; }

running() {
  [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

write_props() {
  mkdir -p "$data/logs"
  # A properties file drops a lone backslash: the regexes' backslashes are doubled.
  cat >"$props" <<PROPS
clusters = $a, $b
$a.bootstrap.servers = $a_bootstrap
$b.bootstrap.servers = $b_bootstrap
$a->$b.enabled = true
$b->$a.enabled = true
topics = ${topics//\\/\\\\}
# <source alias>.<topic> on the other side; by that prefix a copy never goes back (no cycles).
replication.policy.class = org.apache.kafka.connect.mirror.DefaultReplicationPolicy

replication.factor = $rf
checkpoints.topic.replication.factor = $rf
heartbeats.topic.replication.factor = $rf
offset-syncs.topic.replication.factor = $rf
offset.storage.replication.factor = $rf
status.storage.replication.factor = $rf
config.storage.replication.factor = $rf

sync.topic.acls.enabled = false
# Partition counts and topic configs of a mirrored topic follow the source's.
sync.topic.configs.enabled = true
refresh.topics.interval.seconds = $refresh
refresh.groups.interval.seconds = $refresh
emit.heartbeats.enabled = true
emit.heartbeats.interval.seconds = 1
emit.checkpoints.enabled = true
emit.checkpoints.interval.seconds = $checkpoint
sync.group.offsets.enabled = $sync_groups
sync.group.offsets.interval.seconds = $checkpoint
# An offset sync per record at most this far apart keeps the translated offsets close.
offset.lag.max = 10

# Connect worker settings go per target cluster. Source offsets flushed every 2 s bound what is
# sent again after a restart (at-least-once: the receiving side dedupes by message_id).
$a.offset.flush.interval.ms = 2000
$b.offset.flush.interval.ms = 2000
PROPS
  if [[ -n "${MM2_EXTRA_CONFIG:-}" ]]; then
    { echo "# from $MM2_EXTRA_CONFIG"; cat "$MM2_EXTRA_CONFIG"; } >>"$props"
  fi
}

flows() {
  if [[ -z "$only" || "$only" == "$b" ]]; then echo "$a->$b"; fi
  if [[ -z "$only" || "$only" == "$a" ]]; then echo "$b->$a"; fi
}

# Ready once every flow's MirrorSourceConnector task has started. The connector makes that task
# only when it has found a topic to mirror at the source (at least the other side's heartbeats).
ready() {
  local flow count=0
  while read -r flow; do
    grep -qF "clientId=$flow, groupId=${flow%%->*}-mm2] Starting task MirrorSourceConnector-0" \
      "$logfile" 2>/dev/null || return 1
    count=$((count + 1))
  done < <(flows)
  [[ "$(grep -c "MirrorSourceConnector-0} Source task finished initialization and start" \
    "$logfile" 2>/dev/null)" -ge "$count" ]]
}

start() {
  [[ -f "$jars/.complete" ]] || "$here/kafka.sh" fetch
  if running; then
    log "already running (pid $(cat "$pidfile")): $a=$a_bootstrap, $b=$b_bootstrap"
    return 0
  fi
  write_props
  : >"$logfile"
  # Its own session, so that Ctrl-C in the terminal that started it does not reach it.
  setsid nohup java -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dkafka.logs.dir="$data/logs" -Dlog4j2.configurationFile="$here/mirrormaker/log4j2.properties" \
    -cp "$jars/*" org.apache.kafka.connect.mirror.MirrorMaker "$props" ${only:+--clusters "$only"} \
    >"$data/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 1 "${MM2_START_TIMEOUT_S:-120}"); do
    if ready; then
      log "running (pid $(cat "$pidfile")): $(flows | paste -sd' '); logs in $data/logs"
      return 0
    fi
    running || { log "exited; see $data/logs"; tail -20 "$data/logs/stdout.log" "$logfile" >&2; exit 1; }
    sleep 1
  done
  log "not every flow running within ${MM2_START_TIMEOUT_S:-120} s; see $logfile"
  exit 1
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
  start) start ;;
  stop) stop ;;
  status) if running; then log "running (pid $(cat "$pidfile"))"; else log "not running"; exit 1; fi ;;
  reset) stop; rm -rf "$data"; log "data removed" ;;
  *) echo "usage: $0 {start|stop|status|reset}" >&2; exit 2 ;;
esac
