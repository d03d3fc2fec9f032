#!/bin/sh
# One-time, idempotent set-up on Debian 12: apt packages, a deb-src entry for
# `apt-get source musl`, the Python package, and the scone sysroot.
# Usage: sh setup.sh            (run as root, or with sudo available)
set -eu
cd "$(dirname "$0")"

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

# qemu + a stock Debian kernel with its headers: the kernel-module test boots
# it under QEMU and builds scone.ko against it. musl-tools (the plain-musl
# baseline), tcl, tzdata: the real-program tests; wrk, redis-tools,
# libmemcached-tools: their benchmarks. umoci, skopeo: scone-image builds
# OCI images with them; runc, podman: the engines its tests run them under.
# libssl-dev: the file-system shield's format library is tested on the host
# over the system's libcrypto, and so is the CAS's C client test. dpkg-dev:
# dpkg-source for OpenSSL's source package (the shields' crypto library);
# openssl: s_client, its test's peer. meson, ninja-build, pkg-config, gdb:
# the build-system and debugger tests.
PKGS="build-essential make gcc strace ccache cmake meson ninja-build pkg-config gdb file xz-utils dpkg-dev
      qemu-system-x86 busybox-static cpio linux-image-amd64 linux-headers-amd64
      musl-tools tcl tzdata wrk redis-tools libmemcached-tools
      umoci skopeo runc podman mmdebstrap
      libssl-dev openssl"

# deb-src entry mirroring the deb entry, so `apt-get source musl` works.
need_update=""
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ \
   && ! grep -qs '^deb-src' /etc/apt/sources.list; then
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        sed -e 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
            $SUDO tee /etc/apt/sources.list.d/scone-deb-src.sources >/dev/null
    else
        grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' |
            $SUDO tee /etc/apt/sources.list.d/scone-deb-src.list >/dev/null
    fi
    need_update=1
fi

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ] || [ -n "$need_update" ] || [ ! -d /var/lib/apt/lists ] \
   || [ -z "$(ls /var/lib/apt/lists/ 2>/dev/null | grep -i source || true)" ]; then
    $SUDO apt-get update -q
fi
if [ -n "$missing" ]; then
    echo "setup: installing$missing"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing
fi

PY=${PYTHON:-python3}
# (Re)install unless the installed scone_cc is this very checkout: another
# clone's editable install would otherwise be the code that runs. The look
# runs from / because python -c puts the current directory first on
# sys.path, where this checkout's own scone_cc would always be found.
here=$(pwd -P)
there=$(cd / && $PY -c 'import os, scone_cc, click, rich, elftools, cryptography, capstone, yaml, pytest, kubernetes_validate, jsonschema, dcap_qvl
print(os.path.dirname(os.path.dirname(os.path.realpath(scone_cc.__file__))))' 2>/dev/null || true)
if [ "$there" != "$here" ] || ! command -v scone-gcc >/dev/null 2>&1; then
    $PY -m pip install -q -e '.[test]'
fi

# Builds (or finds in the cache) the patched-musl sysroot and prints its path.
scone-gcc -print-sysroot >/dev/null
echo "setup: ok (sysroot $(scone-gcc -print-sysroot))"
