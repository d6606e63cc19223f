#!/usr/bin/env bash
# Podman as this project's tests and docs run it: rootful, with its own storage, on a machine with
# no systemd and no container registry. Usage: scripts/container_podman.sh <podman args...>
#
#   --storage-driver vfs          no overlay mounts needed (works inside VMs and containers)
#   --runtime runc                crun 1.8 (Debian 12) refuses this cgroup v1/v2 hybrid host
#                                 ("cgroups in hybrid mode not supported"); runc works
#   --cgroup-manager cgroupfs     there is no systemd to ask for cgroups
#   --events-backend file         there is no journald either
#   --root / --runroot / --tmpdir a storage of our own, so the vfs driver never meets another
#                                 driver's storage; kept in the cache directory between runs
#   --ulimit (build, run, create) explicit nofile/nproc limits no higher than this shell's hard
#                                 limits: rootful podman asks for nofile=1048576 by default, and a
#                                 sandbox that forbids raising the hard limit makes runc fail with
#                                 "error setting rlimit type 7: operation not permitted"
#
# SKYSERVE_PODMAN_STATE overrides where that storage lives.
set -euo pipefail

state="${SKYSERVE_PODMAN_STATE:-${XDG_CACHE_HOME:-$HOME/.cache}/skyserve-exporter/podman}"
mkdir -p "$state/root" "$state/runroot" "$state/tmp"

cap() { # the smaller of a wanted limit and the hard limit ("unlimited" counts as no cap)
  if [ "$2" = unlimited ] || [ "$1" -le "$2" ]; then echo "$1"; else echo "$2"; fi
}
args=("$@")
case "${1:-}" in
  build | run | create)
    nofile="$(cap 65536 "$(ulimit -Hn)")"
    nproc="$(cap 4096 "$(ulimit -Hu)")"
    args=("$1" --ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc" "${@:2}")
    ;;
esac

exec podman \
  --storage-driver vfs \
  --root "$state/root" \
  --runroot "$state/runroot" \
  --tmpdir "$state/tmp" \
  --runtime runc \
  --cgroup-manager cgroupfs \
  --events-backend file \
  "${args[@]}"
