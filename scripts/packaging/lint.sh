#!/bin/bash
# lint.sh - make lint-packaging: version-check, then build the .deb and the
# rpms and lint them: lintian (fails on errors; warnings are listed) and
# rpmlint with dmp.rpmlintrc (fails on errors), and shellcheck on the
# packaging scripts. Installs the tools it needs (deps.sh packaging).
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
for t in lintian rpmbuild rpmlint shellcheck; do
	command -v "$t" >/dev/null || { printf 'lint-packaging: FAILED: %s is missing\n' "$t" >&2; rc=1; }
done
version=$(pkg_version)
step "version-check" scripts/version-check.sh
step "build .deb" scripts/packaging/build-deb.sh
step "lintian" lintian --fail-on error --display-info --tag-display-limit 0 \
	"$PKG_DIST"/dmp_"$version"-*_*.changes
step "build rpm" scripts/packaging/build-rpm.sh
step "rpmlint" rpmlint -r dmp.rpmlintrc \
	"$PKG_DIST"/dmp-dkms-"$version"-*.noarch.rpm "$PKG_DIST"/dmp-"$version"-*.src.rpm dmp.spec
step "shellcheck" shellcheck -x -S warning scripts/version-check.sh scripts/packaging/*.sh \
	scripts/packaging/guest/dmp-e2e-check
[ "$rc" -eq 0 ] && echo "lint-packaging: ok"
exit "$rc"
