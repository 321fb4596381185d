#!/usr/bin/env bash
# Installs what the test suite needs on a Debian machine, as root: PostgreSQL 15
# (servers the tests start), its server headers and a compiler (to build
# pgvector from Debian's source package), PgBouncer (transaction-pooling
# tests), Prometheus' promtool and Alertmanager (alerting tests), openssl
# (TLS tests), Chromium (the dashboard's browser test, driven by playwright-core). Idempotent: installs only what is missing. `npm test` runs it
# by itself when it is root; otherwise it prints this command to run first.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

need=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
[ -f /usr/include/postgresql/15/server/postgres.h ] || need+=(postgresql-server-dev-15)
command -v make >/dev/null || need+=(make)
command -v gcc >/dev/null || need+=(gcc)
command -v pgrep >/dev/null || need+=(procps)
dpkg -s dpkg-dev >/dev/null 2>&1 || need+=(dpkg-dev)
command -v pgbouncer >/dev/null || need+=(pgbouncer)
command -v promtool >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null || need+=(prometheus-alertmanager)
command -v openssl >/dev/null || need+=(openssl)
command -v chromium >/dev/null || need+=(chromium)
if [ "${#need[@]}" -gt 0 ]; then
  echo "test dependencies: installing ${need[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
id postgres >/dev/null 2>&1 || { echo "user postgres missing after installing postgresql-15" >&2; exit 1; }
# The Debian packages start their own services; the tests start their own instances.
for service in pgbouncer prometheus prometheus-alertmanager; do
  if command -v systemctl >/dev/null 2>&1; then systemctl stop "$service" >/dev/null 2>&1 || true; fi
done
bash "$(dirname "$0")/install-pgvector.sh"
