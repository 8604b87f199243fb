#!/bin/bash
# hardening.sh DEB - hardening-check (devscripts) on /usr/bin/dmpstat from the
# dmp-utils .deb: PIE, stack protector, fortify, RELRO and BIND_NOW, i.e.
# what bookworm's dpkg-buildflags give with hardening=+all (debian/rules).
# Control-flow protection (-fcf-protection) is not among bookworm's flags
# (dpkg 1.22 added it), so it is not asked for; stack-clash protection is
# only reported by hardening-check, never failed.
set -eu
. "$(dirname "$0")/lib.sh"

deb=${1:?usage: hardening.sh dmp-utils_<v>_<arch>.deb}
[ -f "$deb" ] || pkg_die "no such package: $deb"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp"
hardening-check --nocfprotection "$tmp/usr/bin/dmpstat"
