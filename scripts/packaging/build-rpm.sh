#!/bin/bash
# build-rpm.sh - build dmp-dkms-<v>-<r>.noarch.rpm, dmp-utils-<v>-<r>.<arch>.rpm
# and dmp-<v>-<r>.src.rpm (make rpm).
#
# `git archive` makes dist/dmp-<v>.tar.gz (prefix dmp-<v>/, dmp.spec at its
# top), then `rpmbuild -ta` builds it with a private _topdir in build/rpm.XXXXXX/;
# the packages land in dist/ (or $DIST).
set -eu
. "$(dirname "$0")/lib.sh"

pkg_deps
command -v rpmbuild >/dev/null || pkg_die "rpmbuild is missing (package rpm)"
version=$(pkg_version)
tarball=$PKG_DIST/dmp-$version.tar.gz
pkg_archive "$tarball" "dmp-$version"
mkdir -p "$PKG_BUILD"
top=$(mktemp -d "$PKG_BUILD/rpm.XXXXXX") # concurrent builds never meet
trap 'rm -rf "$top"' EXIT
pkg_log "rpmbuild -ta $tarball"
# Packager: from $PACKAGER, git's identity or, on a machine that has none,
# debian/control's Maintainer (not hard-coded in the spec)
packager=${PACKAGER:-}
if [ -z "$packager" ] && name=$(git -C "$PKG_TOP" config user.name) &&
	email=$(git -C "$PKG_TOP" config user.email); then
	packager="$name <$email>"
fi
[ -n "$packager" ] || packager=$(sed -n 's/^Maintainer:[[:space:]]*//p' "$PKG_TOP/debian/control")
# On Debian, rpm's own database is empty, so BuildRequires (gcc, make) cannot
# be checked: the host's packages are what deps.sh installed.
nodeps=
if ! rpm -q gcc >/dev/null 2>&1; then
	nodeps=--nodeps
fi
rpmbuild -ta "$tarball" $nodeps \
	${packager:+--define "packager $packager"} \
	--define "_topdir $top" \
	--define "_rpmdir $PKG_DIST" --define "_srcrpmdir $PKG_DIST" \
	--define '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm'
ls "$PKG_DIST"/dmp-dkms-"$version"-*.noarch.rpm \
	"$PKG_DIST"/dmp-utils-"$version"-*."$(rpm --eval '%{_arch}')".rpm \
	"$PKG_DIST"/dmp-"$version"-*.src.rpm
