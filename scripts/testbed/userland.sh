#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# userland.sh ARCH: make (once) the Debian userland that guests of another
# architecture (arm64, i386) use as their root, and print its directory
# (HACKING.md, "Other architectures").
#
# A guest of the host's architecture uses the host's own / over 9p; a guest
# of another one cannot, so it gets a bookworm tree of ARCH with what the
# cases and the runner use (bash, dmsetup, fio, python3, kmod, coreutils,
# util-linux, ...). The packages are unpacked, never run (the host has no
# binfmt_misc): `mmdebstrap --variant=extract` resolves their dependencies
# and unpacks them, then the little that their maintainer scripts would do
# and the guest needs (awk, /etc/passwd) is done here.
#
# Cached in $DMP_CACHE/userland/ARCH/: root/ (the tree), packages (what was
# asked for) and ready (written last). It is made again when the package
# list below changes, or with --refresh.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

export PATH=$PATH:/usr/sbin:/sbin
export LC_ALL=C

MIRROR=${DMP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm

# What tests/*/*, tests/lib.sh, guest-run.sh and kmemleak-check.sh run.
PACKAGES=(
	bash coreutils util-linux mount dmsetup fio kmod python3 diffutils
	findutils grep sed mawk procps e2fsprogs hostname busybox-static
	libc-bin base-files base-passwd lvm2 dosfstools
)

log() { printf 'userland.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

refresh=0
[ "${1:-}" != --refresh ] || { refresh=1; shift; }
[ $# -eq 1 ] || die "usage: userland.sh [--refresh] ARCH (one of: ${DMP_ARCHES[*]})"
arch=$1
[[ " ${DMP_ARCHES[*]} " == *" $arch "* ]] || die "unknown arch $arch (known: ${DMP_ARCHES[*]})"

dir=$DMP_CACHE/userland/$arch
want="$SUITE ${PACKAGES[*]}"
mkdir -p "$DMP_CACHE/userland"
exec {lockfd}>"$DMP_CACHE/userland/$arch.lock"
flock "$lockfd"
if [ "$refresh" = 0 ] && [ -e "$dir/ready" ] && [ "$(cat "$dir/packages")" = "$want" ]; then
	printf '%s\n' "$dir"
	exit 0
fi

command -v mmdebstrap >/dev/null || die "mmdebstrap is missing (scripts/testbed/deps.sh installs it)"
log "$arch: making the guest userland ($SUITE: ${PACKAGES[*]})"
new=$dir.new
rm -rf "$new"
mkdir -p "$new"
IFS=, pkgs="${PACKAGES[*]}"
mmdebstrap --quiet --arch="$arch" --variant=extract --include="$pkgs" \
	"$SUITE" "$new/root" "deb $MIRROR $SUITE main" >&2 ||
	die "$arch: mmdebstrap failed"
unset IFS
r=$new/root

# What the maintainer scripts would have done, as far as the guest needs it.
[ -e "$r/usr/bin/awk" ] || ln -s mawk "$r/usr/bin/awk"
for f in passwd group; do
	[ -e "$r/etc/$f" ] || cp "$r/usr/share/base-passwd/$f.master" "$r/etc/$f"
done
for p in bin/bash sbin/dmsetup sbin/lvm usr/bin/fio usr/bin/python3 bin/kmod bin/busybox usr/bin/timeout; do
	[ -e "$r/$p" ] || die "$arch: the userland has no /$p"
done

printf '%s\n' "$want" >"$new/packages"
date -u +%FT%TZ >"$new/ready"
rm -rf "$dir.old"
[ ! -e "$dir" ] || mv -T "$dir" "$dir.old"
mv -T "$new" "$dir"
rm -rf "$dir.old"
log "$arch: ready in $dir ($(du -sh "$dir/root" | cut -f1))"
printf '%s\n' "$dir"
