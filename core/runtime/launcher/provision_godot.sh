#!/usr/bin/env bash
# Provision Debian sid's Godot 4 into a private root and write a small launcher for it.
#
# Used only when no Godot >= 4.3 is found (GODOT_BIN, then godot/godot4 on PATH); run by
# rlgodot.core.runtime.launcher.binary.provision_godot() ('make setup', 'rlgodot doctor --provision').
# The mirror is taken from this machine's own apt sources; nothing here names a host.
# Usage: provision_godot.sh [CACHE_DIR]   (default: ${XDG_CACHE_HOME:-~/.cache}/rlgodot)
# Prints the launcher path on success. Idempotent: a finished root is reused.
set -euo pipefail

cache_dir=${1:-${RLGODOT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rlgodot}}
root="$cache_dir/godot-root"
launcher="$cache_dir/bin/godot"

write_launcher() {
  mkdir -p "$(dirname "$launcher")"
  cat > "$launcher" <<LAUNCHER
#!/bin/sh
# Runs the Godot 4 binary of a private Debian root through that root's own loader.
R="$root"
exec "\$R/lib64/ld-linux-x86-64.so.2" --library-path "\$R/usr/lib/x86_64-linux-gnu:\$R/lib/x86_64-linux-gnu:\$R/usr/lib/x86_64-linux-gnu/pulseaudio" "\$R/usr/bin/godot" "\$@"
LAUNCHER
  chmod +x "$launcher"
}

if [ -f "$root/.rlgodot-complete" ]; then
  write_launcher
  echo "$launcher"
  exit 0
fi

mirror=""
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  mirror=$(awk '/^URIs:/ {print $2; exit}' "$f")
  [ -n "$mirror" ] && break
done
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
  mirror=$(awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) {print $i; exit}}' /etc/apt/sources.list)
fi
if [ -z "$mirror" ]; then
  echo "provision-godot: no Debian mirror found in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list;" >&2
  echo "install Godot >= 4.3 yourself and set GODOT_BIN=/path/to/godot" >&2
  exit 1
fi
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

if ! command -v mmdebstrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    # Quiet: dpkg's per-package chatter goes to a log that is shown only on failure.
    apt_log=$(mktemp)
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        -o Dpkg::Use-Pty=0 mmdebstrap; } >"$apt_log" 2>&1; then
      cat "$apt_log" >&2
      rm -f "$apt_log"
      echo "provision-godot: installing mmdebstrap failed; install Godot >= 4.3 and set GODOT_BIN" >&2
      exit 1
    fi
    rm -f "$apt_log"
  else
    echo "provision-godot: mmdebstrap is missing; run 'sudo apt-get install mmdebstrap' or set GODOT_BIN" >&2
    exit 1
  fi
fi

rm -rf "$root"
mkdir -p "$cache_dir"
echo "provision-godot: building a private sid root with godot in $root (about 15 s)" >&2
mmdebstrap --quiet --variant=essential --include=godot --mode=root \
  --aptopt='Acquire::Check-Valid-Until "false"' \
  sid "$root" "deb [signed-by=$keyring] $mirror sid main" >&2
touch "$root/.rlgodot-complete"
write_launcher
echo "$launcher"
