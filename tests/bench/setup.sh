#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs what `make bench` compares shmbuf with and draws its plot with, when missing:
# redis-server and memcached (peers, run on private sockets by the benchmark itself; the
# packages' own services are not needed and are not started here) and gnuplot-nox. Debian
# 12, as root. ./bootstrap and `make check` never install these.
set -e
packages="redis-server memcached gnuplot-nox"
command -v apt-get >/dev/null 2>&1 || exit 0
missing=$(for p in $packages; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' || echo "$p"
done)
[ -n "$missing" ] || exit 0
if [ "$(id -u)" != 0 ]; then
  echo "bench: not root, cannot install:" $missing "(the rows that need them are left out)" >&2
  exit 0
fi
echo "bench: installing" $missing
DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null
