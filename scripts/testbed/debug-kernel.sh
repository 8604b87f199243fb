#!/bin/bash
# debug-kernel.sh - build the test bed's DEBUG kernel (KASAN, lockdep, kmemleak,
# UBSAN, debug objects, ...) from Debian's linux-source-6.1 and install it
# into the kernel cache as tag "debug" (HACKING.md, "Kernel cache").
#
#   debug-kernel.sh [--force]   build (once) and install; a no-op when the
#                               cached kernel was built from the current
#                               scripts/testbed/debug.config
#   debug-kernel.sh --check     exit 0 when the cached kernel is up to date
#   debug-kernel.sh --path      print the cache directory of the tag
#
# Then `scripts/testbed/build.sh debug` and `scripts/testbed/vmrun.sh
# --kernel debug` work as for the stock kernels.  The build takes 25-45
# minutes on 2 busy cores (nice -n 10, make -j$JOBS, JOBS default 2).
#
# Source: the newest $DMP_CACHE/src/linux-source-6.1_*.deb, else one fetched
# with `apt-get download linux-source-6.1` (host apt sources; failing that,
# the private bookworm apt tree of kernels.sh, $DMP_CACHE/apt/6.1).  Delete
# the .deb to pick up a newer source package.
#
# Config: `make defconfig kvm_guest.config`, then every line of debug.config
# through scripts/config, `make olddefconfig`, and every line verified with
# `scripts/config --state` (Kconfig silently drops what it cannot satisfy):
# any mismatch fails the build.
#
# Layout:
#   $DMP_CACHE/debug-build/linux-source-6.1  the build tree (also the kdir of
#                                            the installed kernel; rebuilt in
#                                            place when the config changes)
#   $DMP_CACHE/debug-build/build.log         the log of the last build
#   $DMP_CACHE/store/debug_KVER_HASH/        kver vmlinuz root/ kdir config
#                                            config-hash source tag ready
#   $DMP_CACHE/kernels/debug                 symlink to the current entry,
#                                            switched after `ready` is written
# HASH is a hash of debug.config, the source package name and this script's
# recipe version: when it differs from the installed one, the kernel is
# rebuilt (incrementally in the same tree).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

export PATH=$PATH:/usr/sbin:/sbin
export LC_ALL=C

TAG=debug
# Bump when the steps below change in a way that changes the kernel.
RECIPE=3
FRAGMENT=$DMP_TOP/scripts/testbed/debug.config
BUILD_DIR=$DMP_CACHE/debug-build
TREE=$BUILD_DIR/linux-source-6.1
LOG=$BUILD_DIR/build.log
KD=$(dmp_kernel_dir "$TAG")
JOBS=${JOBS:-2}

log() { printf 'debug-kernel.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() {
	sed -n '2,14s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
	exit "${1:-0}"
}

FORCE=0 CHECK=0
while (($#)); do
	case "$1" in
	--force) FORCE=1 ;;
	--check) CHECK=1 ;;
	--path) printf '%s\n' "$KD" && exit 0 ;;
	-h | --help) usage 0 ;;
	*) usage 2 >&2 ;;
	esac
	shift
done

[[ -f $FRAGMENT ]] || die "no config fragment $FRAGMENT"

# ---- the source package -------------------------------------------------------

# source_deb: print the .deb of linux-source-6.1 to build from, fetching one
# when the cache has none.
source_deb() {
	local deb apt_dir opts
	deb=$(compgen -G "$DMP_CACHE/src/linux-source-6.1_*.deb" | sort -V | tail -n1 || true)
	if [[ -z $deb ]]; then
		mkdir -p "$DMP_CACHE/src"
		log "downloading linux-source-6.1"
		if ! (cd "$DMP_CACHE/src" && apt-get -q download linux-source-6.1) >&2; then
			# The private bookworm(-security) apt tree of kernels.sh.
			apt_dir=$DMP_CACHE/apt/6.1
			[[ -f $apt_dir/sources.list ]] ||
				die "apt-get download linux-source-6.1 failed (and no $apt_dir: run kernels.sh fetch 6.1)"
			opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=-"
				-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::State::status=/dev/null"
				-o "Dir::Cache=$apt_dir/cache" -o "Dir::Cache::pkgcache=$apt_dir/cache/pkgcache.bin"
				-o "Dir::Cache::srcpkgcache=$apt_dir/cache/srcpkgcache.bin"
				-o "APT::Sandbox::User=root" -o "Acquire::Languages=none")
			(cd "$DMP_CACHE/src" && apt-get "${opts[@]}" -q download linux-source-6.1) >&2 ||
				die "apt-get download linux-source-6.1 failed"
		fi
		deb=$(compgen -G "$DMP_CACHE/src/linux-source-6.1_*.deb" | sort -V | tail -n1 || true)
		[[ -n $deb ]] || die "apt-get download left no linux-source-6.1_*.deb in $DMP_CACHE/src"
	fi
	printf '%s\n' "$deb"
}

# want_hash DEB: the hash that identifies a kernel built from DEB with the
# current fragment and recipe.
want_hash() {
	{
		echo "recipe $RECIPE"
		echo "source ${1##*/}"
		cat "$FRAGMENT"
	} | sha256sum | cut -c1-16
}

# installed_ok HASH: the cached kernel is complete and was built with HASH.
installed_ok() {
	[[ -e $KD/ready && -f $KD/config-hash && -f $KD/kdir/Makefile ]] &&
		[[ $(cat "$KD/config-hash") == "$1" ]]
}

# Fast path without a lock and without touching the network: the newest
# cached source (if any) and the fragment decide.
deb=$(compgen -G "$DMP_CACHE/src/linux-source-6.1_*.deb" | sort -V | tail -n1 || true)
if [[ -n $deb ]] && ((!FORCE)) && installed_ok "$(want_hash "$deb")"; then
	((CHECK)) || log "up to date: $(cat "$KD/kver") in $(readlink -f "$KD")"
	exit 0
fi
((!CHECK)) || { log "not up to date (or not built)"; exit 1; }
"$DMP_TOP/scripts/testbed/deps.sh" debug || die "the packages the kernel build needs are missing (see above)"

mkdir -p "$BUILD_DIR" "$DMP_CACHE/store" "$DMP_CACHE/kernels"
exec {lockfd}>"$BUILD_DIR/lock"
if ! flock -n "$lockfd"; then
	log "another debug-kernel.sh is running: waiting for it"
	flock "$lockfd"
fi

deb=$(source_deb)
HASH=$(want_hash "$deb")
if ((!FORCE)) && installed_ok "$HASH"; then # built while we waited
	log "up to date: $(cat "$KD/kver") in $(readlink -f "$KD")"
	exit 0
fi

# ---- the tree -----------------------------------------------------------------

if [[ ! -f $TREE/Makefile || "$(cat "$BUILD_DIR/source" 2>/dev/null)" != "${deb##*/}" ]]; then
	log "unpacking ${deb##*/} into $TREE"
	rm -rf "$TREE" "$TREE.new" "$BUILD_DIR/source"
	mkdir -p "$TREE.new"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/src/linux-source-6.1.tar.xz |
		tar -xJ -C "$TREE.new" --strip-components=1
	[[ -f $TREE.new/Makefile ]] || die "${deb##*/} holds no kernel tree"
	mv -T "$TREE.new" "$TREE"
	printf '%s\n' "${deb##*/}" >"$BUILD_DIR/source"
fi
cd "$TREE"

# ---- the config -----------------------------------------------------------------

# fragment_lines: "SYMBOL VALUE" for every setting of the fragment (VALUE n
# for "is not set", strings without their quotes).
fragment_lines() {
	sed -nE \
		-e 's/^CONFIG_([A-Za-z0-9_]+)="(.*)"[[:space:]]*$/\1 "\2/p' \
		-e 's/^CONFIG_([A-Za-z0-9_]+)=([^"[:space:]]+)[[:space:]]*$/\1 \2/p' \
		-e 's/^# CONFIG_([A-Za-z0-9_]+) is not set[[:space:]]*$/\1 n/p' \
		"$FRAGMENT"
}

# The fragment must hold nothing else than settings, comments, blank lines.
# (exactly the forms fragment_lines parses, so that none goes unverified)
bad=$(grep -vnE '^(CONFIG_[A-Za-z0-9_]+=(".*"|[^"[:space:]]+)[[:space:]]*|# CONFIG_[A-Za-z0-9_]+ is not set[[:space:]]*|#.*|[[:space:]]*)$' \
	"$FRAGMENT" || true)
[[ -z $bad ]] || die "lines of $FRAGMENT that are no setting: $bad"

: >"$LOG"
log "configuring (make defconfig kvm_guest.config + ${FRAGMENT#"$DMP_TOP"/})"
make -s defconfig kvm_guest.config >>"$LOG" 2>&1 || { tail -n 30 "$LOG" >&2; die "make defconfig failed"; }
args=()
while read -r sym val; do
	case "$val" in
	y) args+=(--enable "$sym") ;;
	m) args+=(--module "$sym") ;;
	n) args+=(--disable "$sym") ;;
	\"*) args+=(--set-str "$sym" "${val#\"}") ;;
	*) args+=(--set-val "$sym" "$val") ;;
	esac
done < <(fragment_lines)
scripts/config --file .config "${args[@]}"
make -s olddefconfig >>"$LOG" 2>&1 || { tail -n 30 "$LOG" >&2; die "make olddefconfig failed"; }

# Verify: every line of the fragment as it ended up in .config.
failed=()
while read -r sym val; do
	want=${val#\"}
	have=$(scripts/config --file .config --state "$sym")
	if [[ $want == n ]]; then
		[[ $have == n || $have == undef ]] && continue
	else
		[[ $have == "$want" ]] && continue
	fi
	failed+=("CONFIG_$sym: wanted $want, .config has $have")
done < <(fragment_lines)
if ((${#failed[@]})); then
	printf '  %s\n' "${failed[@]}" >&2
	die "${#failed[@]} setting(s) of ${FRAGMENT##*/} did not survive olddefconfig (unmet dependencies?)"
fi
log "config verified: all $(fragment_lines | wc -l) settings of ${FRAGMENT##*/} are in .config"

# ---- build ----------------------------------------------------------------------

log "building in $TREE (nice -n 10 make -j$JOBS bzImage modules; 25-45 min; log: $LOG)"
t0=$SECONDS
if ! nice -n 10 make -j"$JOBS" bzImage modules >>"$LOG" 2>&1; then
	grep -E 'error|Error' "$LOG" | tail -n 20 >&2 || true
	tail -n 20 "$LOG" >&2
	die "the kernel build failed; log: $LOG"
fi
build_secs=$((SECONDS - t0))
# Only now: kernelrelease reads LOCALVERSION from include/config/auto.conf,
# which the build writes.
KVER=$(make -s kernelrelease)
[[ $KVER == *-dmpdebug ]] || die "kernel release $KVER lacks LOCALVERSION -dmpdebug"
log "built $KVER in $((build_secs / 60)) min $((build_secs % 60)) s"

# ---- install into the cache ---------------------------------------------------------

STORE=$DMP_CACHE/store/${TAG}_${KVER}_${HASH:0:8}
rm -rf "$STORE"
mkdir -p "$STORE/root"
make -s modules_install INSTALL_MOD_PATH="$STORE/root" INSTALL_MOD_STRIP=1 >>"$LOG" 2>&1 ||
	{ tail -n 20 "$LOG" >&2; die "modules_install failed"; }
# modules_install links build/ and source/ to the tree by absolute path;
# that is where they are, so leave them.
depmod -b "$STORE/root" "$KVER"
[[ -s $STORE/root/lib/modules/$KVER/modules.dep ]] || die "depmod made no modules.dep"
for m in dm-mod dm-zero dm-flakey dm-delay brd null_blk loop; do
	[[ $(modprobe -d "$STORE/root" -S "$KVER" --show-depends "$m" 2>/dev/null) == *insmod\ * ]] ||
		die "module $m is missing from $STORE/root (must be =m)"
done
cp arch/x86/boot/bzImage "$STORE/vmlinuz"
# config and System.map where a Debian kernel package has them, too
mkdir -p "$STORE/root/boot"
cp .config "$STORE/root/boot/config-$KVER"
cp System.map "$STORE/root/boot/System.map-$KVER"
ln -sfn "root/boot/config-$KVER" "$STORE/config"
ln -sfn "root/boot/System.map-$KVER" "$STORE/System.map"
ln -sfn "$TREE" "$STORE/kdir"

# The tree must work as KDIR for an external module, without warnings.
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
cat >"$probe/probe.c" <<'EOF'
// SPDX-License-Identifier: GPL-2.0
#include <linux/module.h>
#include <linux/slab.h>

static int __init probe_init(void)
{
	kfree(kzalloc(16, GFP_KERNEL));
	return 0;
}

static void __exit probe_exit(void)
{
}

module_init(probe_init);
module_exit(probe_exit);
MODULE_LICENSE("GPL");
EOF
echo 'obj-m := probe.o' >"$probe/Kbuild"
if ! make -C "$STORE/kdir" M="$probe" W=1 modules >"$probe/log" 2>&1 ||
	[[ ! -f $probe/probe.ko ]] || grep -qE 'warning:|error:' "$probe/log"; then
	cat "$probe/log" >&2
	die "an external module does not build cleanly against $STORE/kdir"
fi
rm -rf "$probe"
trap - EXIT

printf '%s\n' "$KVER" >"$STORE/kver"
printf '%s\n' "$HASH" >"$STORE/config-hash"
printf '%s\n' "${deb##*/}" >"$STORE/source"
printf '%s\n' "$TAG" >"$STORE/tag"
printf '%s\n' "$build_secs" >"$STORE/build-secs"
printf '%s\n' "$(date -u +%FT%TZ)" >"$STORE/ready"

# Switch kernels/debug atomically; keep the previous entry (a run may still
# use it; its kdir is the rebuilt tree, though), drop older ones.
old=$(readlink "$KD" 2>/dev/null || true)
[[ -L $KD || ! -e $KD ]] || rm -rf "$KD"
ln -sfn "../store/${STORE##*/}" "$KD.new.$$"
mv -T "$KD.new.$$" "$KD"
for p in "$DMP_CACHE/store/${TAG}"_*; do
	[[ $p == "$STORE" || ${p##*/} == "${old##*/}" ]] || rm -rf "$p"
done
log "ready: $KVER in $STORE (kernels/$TAG)"
