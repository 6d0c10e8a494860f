#!/usr/bin/env bash
# Builds local/debian-python:bookworm, a Python 3.11 base image made from Debian's packages,
# when the engine does not have it yet (kept between runs by the engine's image store).
# For machines that cannot pull python:3.11-slim from Docker Hub; users keep that default.
# The machine's CA bundle goes into the image: registries are reached through a proxy whose
# CA is only in that bundle, so pip/uv inside a build need it.
set -euo pipefail
IMAGE=${MUSIC_ETL_LOCAL_BASE_IMAGE:-local/debian-python:bookworm}
SUITE=bookworm

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "base: $IMAGE already present"
    exit 0
fi

debian_mirror() {
    # The first deb.debian.org-style URI in apt's sources (deb822 or one-line format).
    local uri
    uri=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' \
          | grep -v security | head -1 || true)
    if [[ -z $uri ]]; then
        uri=$(grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
              | awk '{print $2}' | grep -v security | head -1 || true)
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

command -v debootstrap >/dev/null || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

ROOTFS=$(mktemp -d /var/tmp/debian-python-rootfs.XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT
MIRROR=$(debian_mirror)
echo "base: debootstrap $SUITE from $MIRROR"
start=$(date +%s)
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    "$SUITE" "$ROOTFS" "$MIRROR" >"$ROOTFS.log" 2>&1 || {
    echo "base: debootstrap failed; last lines:" >&2; tail -5 "$ROOTFS.log" >&2; exit 1; }
rm -f "$ROOTFS.log"
# The proxy's CA, trusted by the system bundle and by Python tools that read SSL_CERT_FILE.
cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
tar -C "$ROOTFS" -c . | docker import \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' - "$IMAGE" >/dev/null
echo "base: $IMAGE built in $(( $(date +%s) - start )) s"
