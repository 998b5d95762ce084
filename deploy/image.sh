#!/usr/bin/env bash
# The container image, built and smoke-tested on a machine that reaches Debian's packages and PyPI
# but no image registry (docs/operations.md). Run as root:
#
#   deploy/image.sh base    the base image, when missing: debootstrap bookworm (minbase) + podman import
#   deploy/image.sh build   the image from a clean checkout of HEAD (git archive), on that base
#   deploy/image.sh smoke   base + build, then inside the image's file system (podman image mount +
#                           chroot: containers cannot be run here) `salespulse --version` and
#                           `salespulse demo` against DATABASE_URL's server; checks the digest files
#
# `make image-smoke` runs the last. Elsewhere `podman build` / `docker build` with the default
# BASE_IMAGE (a public Python 3.11 image) needs none of this.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE=${BASE_IMAGE:-localhost/salespulse-base:bookworm}
IMAGE=${IMAGE:-localhost/salespulse:smoke}
DATABASE_URL=${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
# pip inside the build verifies PyPI with the CA bundle pip's own configuration names here (the
# machine may sit behind a TLS-inspecting proxy); handed to the build as a secret, never a layer.
PIP_CA=${PIP_CA:-$(python3 -m pip config get global.cert 2>/dev/null || true)}
PIP_CA=${PIP_CA:-/etc/ssl/certs/ca-certificates.crt}

say() { printf '%s image.sh: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# need_tools COMMAND:PACKAGE...: install the Debian packages of the commands that are missing.
need_tools() {
  local missing=() pair
  for pair in "$@"; do command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}"); done
  [ ${#missing[@]} -eq 0 ] && return
  # Exit 3 (CI skips the smoke test, saying so): the tools cannot be had on this machine.
  command -v apt-get >/dev/null || { say "cannot install ${missing[*]}: no apt-get"; exit 3; }
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; } \
    || { say "cannot install ${missing[*]} with apt-get"; exit 3; }
}

base() {
  need_tools podman:podman
  if podman image exists "$BASE_IMAGE"; then say "base $BASE_IMAGE is there"; return; fi
  # Only a local name is made here; any other is pulled by the build from its registry.
  case "$BASE_IMAGE" in localhost/*) ;; *) return ;; esac
  need_tools debootstrap:debootstrap
  local root; root=$(mktemp -d /var/tmp/salespulse-base.XXXXXX)
  say "debootstrap bookworm (minbase + python3) into $root (a few minutes)"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$root" >"$root.log" 2>&1 \
    || { tail -20 "$root.log" >&2; exit 1; }
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
  tar -C "$root" -c . | podman import --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$root" "$root.log"
  say "base $BASE_IMAGE imported"
}

build() {
  base
  local ctx; ctx=$(mktemp -d /var/tmp/salespulse-src.XXXXXX)
  # A clean checkout: what is committed at HEAD, nothing of the work tree (no venv, no .env).
  git archive HEAD | tar -x -C "$ctx"
  say "building $IMAGE from $(git rev-parse --short HEAD) on $BASE_IMAGE"
  local secret=() old
  [ -s "$PIP_CA" ] && secret=(--secret "id=pip_ca,src=$PIP_CA")
  old=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
  # docker format: it keeps HEALTHCHECK. No layer cache: every commit would leave a 1.4 GB build
  # stage behind; pip's cache mount (/var/tmp/buildah-cache) spares the downloads (3 min, not 4).
  podman build --isolation chroot --format docker --layers=false --build-arg "BASE_IMAGE=$BASE_IMAGE" \
    ${WITH_CJK_FONT:+--build-arg WITH_CJK_FONT=$WITH_CJK_FONT} ${WITH_SPARK:+--build-arg WITH_SPARK=$WITH_SPARK} \
    "${secret[@]}" -t "$IMAGE" -f "$ctx/Containerfile" "$ctx" >"$ctx.log" 2>&1 \
    || { tail -30 "$ctx.log" >&2; rm -rf "$ctx"; exit 1; }
  rm -rf "$ctx" "$ctx.log"
  # The previous build under this tag (1.5 GB) is dangling now: remove it, and only it.
  if [ -n "$old" ] && [ "$old" != "$(podman image inspect --format '{{.Id}}' "$IMAGE")" ]; then
    podman rmi "$old" >/dev/null 2>&1 || true
  fi
  say "built $IMAGE ($(podman image inspect --format '{{.Size}}' "$IMAGE" | numfmt --to=iec))"
}

# Run a command of the image in its file system as its user, with the machine's network (and so
# its Postgres): /tmp is a fresh writable folder, /dev and /proc the machine's, in a mount
# namespace of its own that goes away with the command.
in_image() {
  local root=$1 tmp=$2; shift 2
  unshare --mount --propagation private sh -ec '
    root=$1 tmp=$2; shift 2
    mount --bind "$tmp" "$root/tmp"; mount --rbind /dev "$root/dev"; mount -t proc proc "$root/proc"
    exec chroot --userspec=salespulse:salespulse "$root" /usr/bin/env -i PATH=/opt/salespulse/bin:/usr/bin:/bin \
      HOME=/tmp MPLCONFIGDIR=/tmp/matplotlib LANG=C.UTF-8 "$@"' sh "$root" "$tmp" "$@"
}

smoke() {
  need_tools psql:postgresql-client
  build
  local root url day
  root=$(podman image mount "$IMAGE")
  # globals: the EXIT trap reads them after this function has returned
  tmp=$(mktemp -d /var/tmp/salespulse-smoke.XXXXXX); chmod 1777 "$tmp"
  db="salespulse_smoke_$(date +%s)_$$"
  url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$DATABASE_URL" "$db")
  psql -q "$DATABASE_URL" -c "create database \"$db\"" 
  trap 'psql -q "$DATABASE_URL" -c "drop database if exists \"$db\" with (force)" || true; podman image unmount "$IMAGE" >/dev/null || true; rm -rf "$tmp"' EXIT
  say "in the image: salespulse --version"
  in_image "$root" "$tmp" salespulse --version | tee "$tmp/version"
  grep -qx "salespulse $(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)" "$tmp/version"
  say "in the image: salespulse demo against a fresh database $db"
  in_image "$root" "$tmp" env DATABASE_URL="$url" OUT_DIR=/tmp/out REPORT_TIMEZONE=UTC LOCALE=en LOG_FORMAT=json \
    salespulse demo >"$tmp/demo.log" 2>&1 || { tail -30 "$tmp/demo.log" >&2; exit 1; }
  day=$(date -u -d yesterday +%F)
  for f in digest.txt digest.json; do
    [ -s "$tmp/out/$day/$f" ] || { say "FAIL: no $f for $day"; tail -30 "$tmp/demo.log" >&2; exit 1; }
  done
  python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["report_date"] == sys.argv[2], d["report_date"]' \
    "$tmp/out/$day/digest.json" "$day"
  grep -q "^SalesPulse" "$tmp/out/$day/digest.txt"
  say "PASS: the image's salespulse wrote the digest for $day ($(ls "$tmp/out/$day" | wc -l) files)"
}

case "${1:-smoke}" in
  base|build|smoke) "$1" ;;
  *) echo "usage: $0 [base|build|smoke]" >&2; exit 2 ;;
esac
