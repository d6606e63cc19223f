#!/usr/bin/env bash
# A local stand-in for the `python:3.12-slim` base image, for machines that reach Debian's package
# archive but no container registry (this project's CI). It is a Debian bookworm root filesystem
# with Debian's Python, made by debootstrap and imported into podman's storage as
# docker.io/library/python:3.12-slim, so the real Dockerfile builds unchanged with --pull=never.
#
# The stand-in has what the Dockerfile uses of the official image: `python`/`python3` on PATH and
# the venv module (Debian's Python is 3.11, not 3.12; the exporter supports both). The root
# filesystem is cached as a tarball, so a rerun only re-imports it, or does nothing when the image
# is already there.
#
# Usage: scripts/container_standin_base.sh [--force]   (as root; needs debootstrap and podman)
# Env:   DEBIAN_MIRROR (default: the mirror this machine's apt uses for bookworm)
#        SKYSERVE_CONTAINER_CACHE (default: ~/.cache/skyserve-exporter)
set -euo pipefail
cd "$(dirname "$0")/.."

image="docker.io/library/python:3.12-slim"
suite="bookworm"
packages="python3,python3-venv,ca-certificates"
cache="${SKYSERVE_CONTAINER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/skyserve-exporter}"
podman_cmd=(bash scripts/container_podman.sh)
force=0
[ "${1:-}" = "--force" ] && force=1

# The mirror apt already uses on this machine (deb822 .sources or one-line sources.list).
debian_mirror() {
  local uri
  uri="$(awk -v suite="$suite" '
      /^URIs:/ { uris = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) found = uris }
      /^$/ { uris = "" }
      END { print found }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri="$(awk -v suite="$suite" '$1 == "deb" && $0 !~ /security/ {
        for (i = 2; i <= NF; i++) if ($i == suite) { u = $(i - 1); if (u ~ /^\[/) u = $(i - 2); print u; exit } }' \
      /etc/apt/sources.list)"
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

if [ "$force" -eq 0 ] && "${podman_cmd[@]}" image exists "$image"; then
  echo "stand-in base image $image: present"
  exit 0
fi

key="$(printf '%s %s' "$suite" "$packages" | sha256sum | cut -c1-12)"
tarball="$cache/python-standin-$suite-$key.tar"
mkdir -p "$cache"

if [ "$force" -eq 1 ] || [ ! -s "$tarball" ]; then
  mirror="${DEBIAN_MIRROR:-$(debian_mirror)}"
  rootfs="$(mktemp -d "$cache/rootfs.XXXXXX")"
  trap 'rm -rf "$rootfs"' EXIT
  echo "debootstrap $suite from $mirror with $packages"
  debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    { tail -n 30 "$cache/debootstrap.log" >&2; exit 1; }
  # The official image's entry points: python and python3 in /usr/local/bin.
  ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python3"
  ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
  # Slim like the official image: no package caches, lists, docs or man pages.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/var/log/*.log "$rootfs"/var/cache/debconf/*-old
  chmod 0755 "$rootfs" # mktemp made it 0700, and "." in the tarball becomes the image's /
  tar --numeric-owner -C "$rootfs" -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
  rm -rf "$rootfs"
  trap - EXIT
fi

"${podman_cmd[@]}" import \
  --change 'ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV=LANG=C.UTF-8' \
  --change 'CMD=["python3"]' \
  "$tarball" "$image" >/dev/null
echo "stand-in base image $image: imported from $tarball"
