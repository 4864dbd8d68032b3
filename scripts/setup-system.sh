#!/usr/bin/env bash
# Installs the system package the runtime needs: bubblewrap, the sandbox every
# tool process runs in (docs/sandbox.md). Debian and Ubuntu through apt-get, as
# root or with sudo; elsewhere it says exactly what to install and fails.
set -euo pipefail

if command -v bwrap >/dev/null 2>&1; then
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
      echo "setup: bubblewrap is missing; as root run: apt-get update && apt-get install -y bubblewrap" >&2
      exit 1
    fi
  fi
  echo "setup: installing bubblewrap (the tool-process sandbox)" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq && "${as_root[@]}" apt-get install -y -qq bubblewrap >/dev/null
  exit 0
fi
echo "setup: bubblewrap is missing; install it with your package manager (dnf install bubblewrap, pacman -S bubblewrap, apk add bubblewrap)" >&2
exit 1
