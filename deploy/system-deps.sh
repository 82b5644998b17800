#!/usr/bin/env bash
# Installs the Debian packages that the tests and `make run` use, when they are missing:
# kcat (a Kafka client written elsewhere, used by the integration tests) and prometheus
# (brings promtool: the alert rules' tests, and the Prometheus that `make run` starts);
# prometheus-alertmanager brings amtool, which checks deploy/alertmanager's configuration;
# openssl makes the throwaway certificates of the TLS test; postgresql is the server the
# workbench's tests start (deploy/postgres/postgres.sh); chromium is the browser its browser
# tests drive.
set -euo pipefail

missing=()
command -v kcat >/dev/null || missing+=(kcat)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v promtool >/dev/null || missing+=(prometheus)
command -v amtool >/dev/null || missing+=(prometheus-alertmanager)
command -v openssl >/dev/null || missing+=(openssl)
# The server binaries, not only the client: Debian keeps them out of PATH, in
# /usr/lib/postgresql/<version>/bin.
if ! { command -v initdb && command -v pg_ctl; } >/dev/null \
  && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  missing+=(postgresql)
fi
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  echo "system-deps: please install: ${missing[*]} (not root, or no apt-get here)" >&2
  exit 0
fi
echo "system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
