# shellcheck shell=bash
# lib.sh - sourced by the packaging scripts (scripts/packaging/*.sh,
# scripts/version-check.sh): the version, the file set DKMS needs and how a
# clean copy of the tree is made.
# shellcheck disable=SC2034 # the variables are used by the sourcing scripts

# Top of the source tree (this file is scripts/packaging/lib.sh).
PKG_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Packaging output (.deb, .rpm, tarballs) and scratch space, both git-ignored.
PKG_DIST=${DIST:-$PKG_TOP/dist}
PKG_BUILD=$PKG_TOP/build

# Caches (base chroots of the end-to-end test), shared with the test bed.
PKG_CACHE=${DMP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dmp}/pkg

pkg_die() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
	exit 1
}

pkg_log() {
	printf '==> %s\n' "$*" >&2
}

# pkg_deps: install the host packages the packaging needs when missing
# (debhelper, dh-dkms, lintian, rpm, rpmlint, ...: deps.sh's group
# "packaging"); dies when they cannot be had.
pkg_deps() {
	"$PKG_TOP/scripts/testbed/deps.sh" packaging || pkg_die "the packaging tools are missing (see above)"
}

# pkg_version [TOP]: DMP_VERSION from dmp/dmp_version.h, the one version source.
pkg_version() {
	local top=${1:-$PKG_TOP} v
	v=$(sed -n 's/^#define[[:space:]]\{1,\}DMP_VERSION[[:space:]]\{1,\}"\([^"]*\)".*/\1/p' \
		"$top/dmp/dmp_version.h" 2>/dev/null)
	[ -n "$v" ] || pkg_die "cannot read DMP_VERSION from $top/dmp/dmp_version.h"
	printf '%s\n' "$v"
}

# pkg_dkms_files [TOP]: the files DKMS needs to build the module, relative to
# TOP, one per line: the module's sources and its Kbuild (or Makefile). Not
# the tests, not kbuild's own output. dkms.conf itself is handled apart because
# its version is substituted.
pkg_dkms_files() {
	local top=${1:-$PKG_TOP}
	(cd "$top" && find dmp -type f \
		\( -name '*.c' -o -name '*.h' -o -name Kbuild -o -name Makefile \) \
		! -name '*.mod.c' ! -path '*/.*' | LC_ALL=C sort)
}

# pkg_install_dkms_src SRCTOP DEST VERSION: install what DKMS needs into DEST
# (normally $DESTDIR/usr/src/dmp-VERSION): the module sources, and dkms.conf
# with #MODULE_VERSION# replaced by VERSION.
pkg_install_dkms_src() {
	local top=$1 dest=$2 version=$3 f
	[ -f "$top/dmp/Kbuild" ] || [ -f "$top/dmp/Makefile" ] ||
		pkg_die "$top/dmp has no Kbuild: nothing for DKMS to build"
	pkg_dkms_files "$top" | while read -r f; do
		install -D -m 0644 "$top/$f" "$dest/$f"
	done
	install -d "$dest"
	sed "s/#MODULE_VERSION#/$version/g" "$top/dkms.conf" >"$dest/dkms.conf"
	chmod 0644 "$dest/dkms.conf"
}

# pkg_tree_ish: what `git archive` exports. $REF if set; HEAD when the work
# tree is clean; otherwise a tree object made from the work tree as it is
# (tracked and untracked files, .gitignore honoured) through a temporary index,
# so that uncommitted work can be packaged without touching the real index.
pkg_tree_ish() {
	local idx tree
	if [ -n "${REF:-}" ]; then
		printf '%s\n' "$REF"
		return
	fi
	if git -C "$PKG_TOP" rev-parse -q --verify HEAD >/dev/null &&
		[ -z "$(git -C "$PKG_TOP" status --porcelain --untracked-files=normal)" ]; then
		printf 'HEAD\n'
		return
	fi
	idx=$(mktemp)
	rm -f "$idx"
	GIT_INDEX_FILE=$idx git -C "$PKG_TOP" add -A . >/dev/null ||
		{ rm -f "$idx"; pkg_die "git add into a temporary index failed"; }
	tree=$(GIT_INDEX_FILE=$idx git -C "$PKG_TOP" write-tree) ||
		{ rm -f "$idx"; pkg_die "git write-tree failed"; }
	rm -f "$idx"
	printf '%s\n' "$tree"
}

# pkg_archive OUT PREFIX: a tarball (gzip) of the tree made by `git archive`.
pkg_archive() {
	local out=$1 prefix=$2 tree
	git -C "$PKG_TOP" rev-parse --git-dir >/dev/null 2>&1 ||
		pkg_die "$PKG_TOP is not a git work tree"
	tree=$(pkg_tree_ish)
	[ "$tree" = HEAD ] || [ -n "${REF:-}" ] ||
		pkg_log "work tree has uncommitted changes: archiving it as it is (tree $tree)"
	mkdir -p "$(dirname "$out")"
	git -C "$PKG_TOP" archive --format=tar.gz --prefix="$prefix/" -o "$out" "$tree"
}

# pkg_export DEST: a clean copy of the tree (as `git archive` sees it) in DEST,
# i.e. what a fresh clone would hold.
pkg_export() {
	local dest=$1 tree
	tree=$(pkg_tree_ish)
	rm -rf "$dest"
	mkdir -p "$dest"
	git -C "$PKG_TOP" archive --format=tar "$tree" | tar -x -C "$dest"
}
