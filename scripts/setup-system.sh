#!/usr/bin/env bash
# Installs the system packages the runtime and the tests need: bubblewrap, the
# sandbox every tool process runs in (docs/sandbox.md), and postgresql, the
# Postgres 15 server the store's tests start (ADR 0040; `cloud serve` itself
# needs none: its default store is embedded). Debian and Ubuntu through apt-get,
# as root or with sudo; elsewhere it says exactly what to install and fails.
set -euo pipefail

need=()
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql)
if [ "${#need[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(uname -s)" != "Linux" ]; then
  echo "setup: the sandbox needs Linux with bubblewrap; on $(uname -s) run the demo with --sandbox off (recorded in the Proof)" >&2
  exit 1
fi
if command -v apt-get >/dev/null 2>&1; then
  as_root=()
  if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then as_root=(sudo); else
      echo "setup: ${need[*]} missing; as root run: apt-get update && apt-get install -y ${need[*]}" >&2
      exit 1
    fi
  fi
  echo "setup: installing ${need[*]} (the tool-process sandbox; the Postgres server the tests start)" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq && "${as_root[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
  exit 0
fi
echo "setup: ${need[*]} missing; install with your package manager (e.g. dnf install bubblewrap postgresql-server)" >&2
exit 1
