#!/bin/bash
# lint.sh - make lint-packaging: version-check, then build the .debs and the
# rpms and lint them: lintian (fails on errors; warnings are listed) and
# rpmlint with dmp.rpmlintrc (fails on errors); dmpstat in dmp-utils built
# with the distribution's hardening flags (blhc on the build log,
# hardening-check on the binary); shellcheck on the packaging scripts.
# Installs the tools it needs (deps.sh packaging).
set -u
. "$(dirname "$0")/lib.sh"
cd "$PKG_TOP" || exit 1

rc=0
step() {
	pkg_log "$1"
	shift
	"$@" || { rc=1; printf 'lint-packaging: FAILED: %s\n' "$*" >&2; }
}

# Every tool is installed when missing; one that still is missing fails the
# check (never a skip reported as a pass).
pkg_deps
for t in lintian rpmbuild rpmlint shellcheck blhc hardening-check; do
	command -v "$t" >/dev/null || { printf 'lint-packaging: FAILED: %s is missing\n' "$t" >&2; rc=1; }
done
version=$(pkg_version)
step "version-check" scripts/version-check.sh
mkdir -p "$PKG_BUILD"
deblog=$PKG_BUILD/lint-build-deb.log
step "build .deb (log: $deblog)" sh -c 'scripts/packaging/build-deb.sh >"$1" 2>&1 || { tail -n 30 "$1"; exit 1; }' sh "$deblog"
# every compiler line has dpkg-buildflags' flags (bindnow too: hardening=+all;
# --debian: PIE is gcc's default on Debian)
step "blhc (build flags)" blhc --all --debian "$deblog"
step "hardening-check dmpstat" scripts/packaging/hardening.sh \
	"$PKG_DIST/dmp-utils_$version"-*_"$(dpkg --print-architecture)".deb
step "lintian" lintian --fail-on error --display-info --tag-display-limit 0 \
	"$PKG_DIST"/dmp_"$version"-*_*.changes
step "build rpm" scripts/packaging/build-rpm.sh
step "rpmlint" rpmlint -r dmp.rpmlintrc \
	"$PKG_DIST"/dmp-dkms-"$version"-*.noarch.rpm \
	"$PKG_DIST"/dmp-utils-"$version"-*."$(rpm --eval '%{_arch}')".rpm \
	"$PKG_DIST"/dmp-"$version"-*.src.rpm dmp.spec
step "shellcheck" shellcheck -x -S warning scripts/version-check.sh scripts/packaging/*.sh \
	scripts/packaging/guest/dmp-e2e-check
[ "$rc" -eq 0 ] && echo "lint-packaging: ok"
exit "$rc"
