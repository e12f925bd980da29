#!/usr/bin/env bash
# README's two commands, as a new user types them, on a stock Debian trixie: its own python3
# (3.13, externally managed) in a debootstrap root with nothing else but python3-venv and
# ca-certificates. Proves the Python 3.13 side of the suite (the Kotlin/Android tiers do not
# depend on Python's version and run in the main run).
#
#   bash scripts/trixie_root.sh [PYTEST ARGS]      (root, Linux; called by scripts/test.sh)
#
# The root (with its copy of the project and that copy's .venv) is kept in
# ~/.cache/edgesdk/roots/trixie-<stamp> and reused; pip's cache is this machine's, bind-mounted.
# Mounts live in a private mount namespace (unshare), so they vanish on every exit path.
# Exit status: the root's test command's; 5 (no test selected there) counts as success.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

SUITE=trixie
INCLUDE=python3,python3-venv,ca-certificates
STAMP="$SUITE-1"  # bump when INCLUDE or the set-up below changes: the root is rebuilt
cache=${XDG_CACHE_HOME:-$HOME/.cache}/edgesdk/roots
root=$cache/$STAMP
pip_cache=${PIP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pip}
ca_bundle=/etc/ssl/certs/ca-certificates.crt

say() { echo "[trixie root] $*" >&2; }
elapsed() { echo "$(( $(date +%s) - $1 )) s"; }

if [ "$(id -u)" != 0 ] || [ "$(uname -s)" != Linux ]; then
  say "skipped: making and entering a Debian root needs root on Linux (debootstrap, chroot)."
  say "CI runs it; EDGESDK_OTHER_PYTHONS=0 silences this."
  exit 0
fi
if ! command -v debootstrap >/dev/null; then
  if ! command -v apt-get >/dev/null; then
    say "failed: debootstrap is not installed and there is no apt-get to install it" >&2
    exit 1
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
fi

# The Debian archive apt already uses.
mirror=${EDGESDK_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
    awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }')
fi
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:.*\/debian\/?$/) { print $i; exit } }')
fi
mirror=${mirror:-http://deb.debian.org/debian}

mounted_under() {  # is anything mounted at or below $1 (in this mount namespace)?
  awk -v p="$1" '$2 == p || index($2, p "/") == 1 { found = 1 } END { exit !found }' /proc/self/mounts
}

mkdir -p "$cache" "$pip_cache"
exec 9>"$cache/$SUITE.lock"
if ! flock -n 9; then
  say "waiting for another run that uses the root"
  flock 9
fi

start=$(date +%s)
if [ ! -x "$root/usr/bin/python3" ]; then
  for old in "$cache/$SUITE"-*; do
    [ -e "$old" ] || continue
    if mounted_under "$old"; then
      say "failed: $old has mounts; unmount them first" >&2
      exit 1
    fi
    rm -rf "$old"
  done
  say "making the root: debootstrap --variant=minbase --include=$INCLUDE $SUITE ($mirror)"
  debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$root.partial" "$mirror" \
    >"$cache/$STAMP.debootstrap.log" 2>&1 || {
    say "failed: debootstrap; its log: $cache/$STAMP.debootstrap.log" >&2
    tail -n 20 "$cache/$STAMP.debootstrap.log" >&2
    exit 1
  }
  mv "$root.partial" "$root"
  say "root made in $(elapsed "$start")"
else
  say "reusing $root"
fi

# Name resolution and this machine's CA bundle (the registries are reached through it).
rm -f "$root/etc/resolv.conf" "$root$ca_bundle"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
cp -L "$ca_bundle" "$root$ca_bundle"

# The project, as a fresh clone would have it; the copy's .venv stays between runs.
dst=$root/root/edgesdk
mkdir -p "$dst"
find "$dst" -mindepth 1 -maxdepth 1 ! -name .venv -exec rm -rf {} +
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$repo" ls-files -z --cached --others --exclude-standard |
    tar -C "$repo" --null --ignore-failed-read -T - -cf - | tar -C "$dst" -xf -
else
  tar -C "$repo" --exclude=./.venv --exclude=./.git -cf - . | tar -C "$dst" -xf -
fi

# A new user's environment: no PIP_FIND_LINKS (this machine's wheel folder is not there);
# proxies, pip's and TLS settings, OpenBLAS's core type and CI carry over.
envs=(HOME=/root LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  "TERM=${TERM:-dumb}" PIP_NO_INPUT=1)
while IFS= read -r name; do
  case $name in
    PIP_FIND_LINKS | PIP_CACHE_DIR | PIP_NO_INPUT) ;;
    PIP_* | *_proxy | *_PROXY | SSL_CERT_FILE | REQUESTS_CA_BUNDLE | CURL_CA_BUNDLE | \
      OPENBLAS_* | CI) envs+=("$name=${!name}") ;;
  esac
done < <(compgen -e)

# README's commands, typed in the project folder. The Python side only: see scripts/test.sh.
inner='cd /root/edgesdk
python3 -c "import sys; print(\"[trixie root] python3 is\", sys.version.split()[0])" >&2
t=$(date +%s)
bash scripts/demo.sh -o demo_out
echo "[trixie root] README command 1 (demo) passed in $(( $(date +%s) - t )) s" >&2
t=$(date +%s)
status=0
EDGESDK_PYTHON_ONLY=1 EDGESDK_MARKERS="not toolchain and not slow" bash scripts/test.sh "$@" || status=$?
echo "[trixie root] README command 2 (tests) exit $status in $(( $(date +%s) - t )) s" >&2
exit $status'
mounts='set -e
root=$1 pip_cache=$2
shift 2
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mkdir -p "$root/root/.cache/pip"
mount --bind "$pip_cache" "$root/root/.cache/pip"
exec "$@"'

status=0
unshare --mount --propagation private -- bash -c "$mounts" mounts "$root" "$pip_cache" \
  chroot "$root" /usr/bin/env -i "${envs[@]}" /bin/bash -c "set -e; $inner" bash "$@" ||
  status=$?
if [ "$status" = 5 ]; then
  say "no test of the Python side matched the arguments (pytest exit 5); nothing failed"
  status=0
fi
say "done in $(elapsed "$start") (exit $status)"
exit "$status"
