#!/bin/bash
# build-deb.sh - build dmp-dkms_<v>_all.deb and dmp-utils_<v>_<arch>.deb
# (make deb).
#
# Builds from a clean export of the tree (what a fresh clone holds, see
# pkg_export in lib.sh) in build/deb.XXXXXX/, so the work tree is never touched,
# with `dpkg-buildpackage -us -uc -b`, and moves the results (.deb,
# .buildinfo, .changes) into dist/ (or $DIST).
set -eu
. "$(dirname "$0")/lib.sh"

pkg_deps
version=$(pkg_version)
mkdir -p "$PKG_BUILD"
scratch=$(mktemp -d "$PKG_BUILD/deb.XXXXXX") # concurrent builds never meet
trap 'rm -rf "$scratch"' EXIT
src=$scratch/dmp-$version
pkg_export "$src"
pkg_log "dpkg-buildpackage -us -uc -b in $src"
(cd "$src" && dpkg-buildpackage -us -uc -b)
mkdir -p "$PKG_DIST"
for f in "$scratch"/dmp*_"$version"-*; do
	[ -f "$f" ] || continue
	mv -f "$f" "$PKG_DIST/"
	printf '%s\n' "$PKG_DIST/${f##*/}"
done
