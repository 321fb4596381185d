#!/usr/bin/env bash
# Builds pgvector for Debian's PostgreSQL 15 from Debian's own pgvector source
# package, and installs it into the server's extension directory. Idempotent:
# does nothing when vector.control is already there. Needs root (apt, install).
set -euo pipefail

PG_MAJOR="${PG_MAJOR:-15}"
PG_CONFIG="/usr/lib/postgresql/${PG_MAJOR}/bin/pg_config"
if [ -f "/usr/share/postgresql/${PG_MAJOR}/extension/vector.control" ]; then
  echo "pgvector: already installed for PostgreSQL ${PG_MAJOR}"
  exit 0
fi
if [ ! -x "$PG_CONFIG" ] || [ ! -f "$("$PG_CONFIG" --includedir-server)/postgres.h" ]; then
  echo "pgvector: $PG_CONFIG missing; install postgresql-server-dev-${PG_MAJOR} first" >&2
  exit 1
fi

# pgvector is not in bookworm's binary archive; its source package is in newer suites.
# The source list is ours for this build only: removed on exit, so the machine's apt sources are as they were.
SRC_LIST=/etc/apt/sources.list.d/agentmem-pgvector-src.sources
work="$(mktemp -d)"
trap 'rm -rf "$work"; rm -f "$SRC_LIST"' EXIT
if ! apt-cache showsrc pgvector 2>/dev/null | grep -q '^Package: pgvector'; then
  cat > "$SRC_LIST" <<'SOURCES'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  apt-get update -qq -o Dir::Etc::sourcelist="$SRC_LIST" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0
fi

cd "$work"
apt-get source --download-only -qq -o Dir::Etc::sourcelist="$SRC_LIST" -o Dir::Etc::sourceparts=- pgvector >/dev/null 2>&1 ||
  apt-get source --download-only pgvector
tar xzf pgvector_*.orig.tar.gz
cd pgvector-*/
# OPTFLAGS="" keeps the build portable (no -march=native).
make -s PG_CONFIG="$PG_CONFIG" OPTFLAGS="" -j"$(nproc)" >/dev/null
make -s PG_CONFIG="$PG_CONFIG" install >/dev/null
echo "pgvector: installed $(grep default_version "/usr/share/postgresql/${PG_MAJOR}/extension/vector.control")"
