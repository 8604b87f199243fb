#!/bin/bash
# lint.sh - make lint-packaging: version-check, then build the .deb and the
# rpms and lint them: lintian (fails on errors; warnings are listed) and
# rpmlint with dmp.rpmlintrc (fails on errors). shellcheck on the packaging
# scripts when it is installed.
set -u
. "$(dirname "$0")/lib.sh"
cd "$PKG_TOP" || exit 1

rc=0
step() {
	pkg_log "$1"
	shift
	"$@" || { rc=1; printf 'lint-packaging: FAILED: %s\n' "$*" >&2; }
}

version=$(pkg_version)
step "version-check" scripts/version-check.sh
step "build .deb" scripts/packaging/build-deb.sh
step "lintian" lintian --fail-on error --display-info --tag-display-limit 0 \
	"$PKG_DIST"/dmp_"$version"-*_*.changes
if command -v rpmbuild >/dev/null && command -v rpmlint >/dev/null; then
	step "build rpm" scripts/packaging/build-rpm.sh
	step "rpmlint" rpmlint -r dmp.rpmlintrc \
		"$PKG_DIST"/dmp-dkms-"$version"-*.noarch.rpm "$PKG_DIST"/dmp-"$version"-*.src.rpm dmp.spec
else
	pkg_log "rpmbuild or rpmlint missing: rpm not checked"
fi
if command -v shellcheck >/dev/null; then
	step "shellcheck" shellcheck -x -S warning scripts/version-check.sh scripts/packaging/*.sh \
		scripts/packaging/guest/dmp-e2e-check
fi
[ "$rc" -eq 0 ] && echo "lint-packaging: ok"
exit "$rc"
