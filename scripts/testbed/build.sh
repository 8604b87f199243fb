#!/bin/bash
# build.sh - build the dmp module for one cached kernel (HACKING.md, "Kernel cache").
#
#   build.sh [--sparse] TAG [OUTDIR]
#
# TAG is a kernel tag of kernels.sh (5.10 6.1 6.12 sid, 7.x = sid, and
# KERNEL-arm64 / KERNEL-i386 for other arches), fetched first if it is not
# cached, "debug": the kernel of debug-kernel.sh (built
# beforehand), or "host": KDIR from the environment (default
# /lib/modules/$(uname -r)/build).
#
# The source (dmp/, or $SRC) is copied to OUTDIR/src and built there with
# W=1, so builds for different kernels can run in parallel and the source
# tree stays clean.  Results: OUTDIR/*.ko (OUTDIR/dmp.ko) and OUTDIR/build.log.
# OUTDIR defaults to build/TAG (build/TAG-sparse with --sparse).
#
# Fails on any compiler warning or error ("warning:"/"error:" in the log).
# --sparse adds C=2 (sparse on every file) and fails on any sparse warning.
# sid is built inside $DMP_CACHE/sid-chroot (newer gcc and glibc).
#
# Environment: SRC (source dir), KDIR (TAG=host), CC (passed to make),
# JOBS (make -j, default 2).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

export PATH=$PATH:/usr/sbin:/sbin
export LC_ALL=C # the log is grepped for English "warning:"

log() { printf 'build.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() {
	sed -n '2,20s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
	exit "${1:-0}"
}

# need_tools CMD:PACKAGE...: install (host apt) the packages of missing commands.
need_tools() {
	local pair missing=()
	for pair in "$@"; do
		command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
	done
	((${#missing[@]})) || return 0
	log "installing missing host packages: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

# ---- arguments ----------------------------------------------------------------

SPARSE=0
while (($#)); do
	case "$1" in
	--sparse) SPARSE=1 && shift ;;
	-h | --help) usage 0 ;;
	-*) usage 2 >&2 ;;
	*) break ;;
	esac
done
(($# == 1 || $# == 2)) || usage 2 >&2

if [[ $1 == host || $1 == debug ]]; then
	TAG=$1
else
	TAG=$(dmp_tag "$1") || die "unknown kernel tag: $1 (known: ${DMP_TAGS[*]} host)"
fi
SRC=$(cd "${SRC:-$DMP_TOP/dmp}" && pwd) || die "no source directory ${SRC:-$DMP_TOP/dmp}"
[[ -f $SRC/Kbuild || -f $SRC/Makefile ]] || die "$SRC has no Kbuild"
if ((SPARSE)); then
	OUT=${2:-$DMP_TOP/build/$TAG-sparse}
else
	OUT=${2:-$DMP_TOP/build/$TAG}
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
LOG=$OUT/build.log
JOBS=${JOBS:-2}

# ---- the kernel -----------------------------------------------------------------

CHROOT=   # sid: the build chroot
if [[ $TAG == host ]]; then
	KDIR=${KDIR:-/lib/modules/$(uname -r)/build}
	[[ -f $KDIR/Makefile ]] || die "KDIR=$KDIR is not a kernel build directory"
	# Debian headers override the release in .kernelvariables.
	KVER=$(sed -n 's/^override KERNELRELEASE = //p' "$KDIR/.kernelvariables" 2>/dev/null || true)
	[[ -n $KVER ]] || KVER=$(cat "$KDIR/include/config/kernel.release" 2>/dev/null || echo unknown)
else
	KD=$(dmp_kernel_dir "$TAG")
	if [[ $TAG == debug ]]; then
		[[ -e $KD/ready ]] || die "the debug kernel is not built: run scripts/testbed/debug-kernel.sh"
	elif [[ ! -e $KD/ready ]]; then
		log "$TAG is not cached: fetching it"
		"$(dirname "${BASH_SOURCE[0]}")/kernels.sh" fetch "$TAG"
	fi
	KVER=$(cat "$KD/kver")
	KDIR=$(cd "$KD/kdir" && pwd -P)
	if [[ $TAG == sid ]]; then
		CHROOT=$DMP_SID_CHROOT
		ver=$(sed -n "s/^linux-headers-$KVER=//p" "$KD/packages")
		have=$(dpkg-query --admindir="$CHROOT/var/lib/dpkg" -W -f '${Version}' \
			"linux-headers-$KVER" 2>/dev/null || true)
		[[ -n $ver && $have == "$ver" ]] ||
			die "$CHROOT has linux-headers-$KVER '${have:-none}', not '$ver': run kernels.sh fetch sid"
		KDIR=/usr/src/linux-headers-$KVER # inside the chroot
	fi
fi

MAKEARGS=(-j"$JOBS" W=1)
# Another arch's headers (HACKING.md, "Other architectures"): their
# .kernelvariables set CROSS_COMPILE from these; i386 needs none (the host's
# gcc builds 32-bit kernel code).
ARCH=amd64 cross=
[[ $TAG == host || $TAG == debug ]] || ARCH=$(dmp_arch "$TAG")
if [[ $ARCH == arm64 ]]; then
	cross=aarch64-linux-gnu-
	MAKEARGS+=(DEB_BUILD_ARCH=amd64 DEB_HOST_ARCH=arm64 DEB_HOST_GNU_TYPE=aarch64-linux-gnu)
	need_tools aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu
fi
if [[ -n $CHROOT ]]; then
	((SPARSE)) && { [[ -x $CHROOT/usr/bin/sparse ]] || die "no sparse in $CHROOT: run kernels.sh fetch sid"; }
else
	# The Debian headers name the compiler that built the kernel
	# (.kernelvariables: "CC = ... gcc-10"); when the host lacks it
	# (5.10 wants gcc-10), the host's gcc builds a working module.
	want=$(grep -m1 -oE 'gcc-[0-9]+' "$KDIR/.kernelvariables" 2>/dev/null || true)
	if [[ -n ${CC:-} ]]; then
		MAKEARGS+=("CC=$CC")
	elif [[ -n $want ]] && ! command -v "$cross$want" >/dev/null; then
		log "$TAG: the headers want $cross$want, which the host lacks: building with CC=${cross}gcc"
		MAKEARGS+=(CC="${cross}gcc")
	fi
	# BTF for modules (6.12) needs pahole.
	if grep -q '^CONFIG_DEBUG_INFO_BTF_MODULES=y' "$KDIR/.config" 2>/dev/null; then
		need_tools pahole:dwarves
	fi
	((SPARSE)) && need_tools sparse:sparse
fi
((SPARSE)) && MAKEARGS+=(C=2)

# ---- copy the source ---------------------------------------------------------

# A fresh copy each time, without kbuild output from in-tree builds.
copy_source() { # DEST
	rm -rf "$1"
	mkdir -p "$1"
	tar -C "$SRC" -cf - \
		--exclude='*.o' --exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c' \
		--exclude='.*.cmd' --exclude='*.order' --exclude=Module.symvers \
		--exclude=.tmp_versions --exclude='*.dwo' --exclude='*.ko.*' \
		--exclude=.cache.mk . | tar -C "$1" -xf -
}

rm -f "$OUT"/*.ko "$LOG"
copy_source "$OUT/src"
log "$TAG: building $SRC for $KVER${CHROOT:+ in $CHROOT} (${MAKEARGS[*]})"

# ---- build -----------------------------------------------------------------------

rc=0
if [[ -z $CHROOT ]]; then
	make -C "$KDIR" M="$OUT/src" "${MAKEARGS[@]}" modules >"$LOG" 2>&1 || rc=$?
else
	# A private copy inside the chroot (parallel sid builds do not collide),
	# removed on exit whatever happens; the shared lock keeps kernels.sh
	# from replacing the chroot under the build.
	exec {lockfd}>"$DMP_CACHE/sid-chroot.lock"
	flock -s "$lockfd"
	WORK=$(mktemp -d "$CHROOT/tmp/dmp-build.XXXXXX")
	trap 'rm -rf "$WORK"' EXIT
	copy_source "$WORK/src"
	# objtool needs /proc.  Mount it in a private mount namespace when we
	# can (it then vanishes with the namespace, even if we are killed), and
	# unmount it with a trap in any case.
	ns=()
	unshare --mount --propagation private true 2>/dev/null && ns=(unshare --mount --propagation private)
	# shellcheck disable=SC2016 # expanded by the inner shell
	"${ns[@]}" bash -c '
		set -eu
		root=$1 && shift
		mount -t proc proc "$root/proc"
		trap "umount \"$root/proc\"" EXIT
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C \
			chroot "$root" "$@"
	' build-chroot "$CHROOT" \
		make -C "$KDIR" M="/tmp/${WORK##*/}/src" "${MAKEARGS[@]}" modules >"$LOG" 2>&1 || rc=$?
	cp -a "$WORK/src/." "$OUT/src/"
fi

# ---- verdict -----------------------------------------------------------------------

shopt -s nullglob
kos=("$OUT"/src/*.ko)
if ((rc != 0)); then
	cat "$LOG" >&2
	die "$TAG: make failed (exit $rc); log: $LOG"
fi
if grep -qE 'warning:|error:' "$LOG"; then
	grep -E 'warning:|error:' "$LOG" >&2
	die "$TAG: $(grep -cE 'warning:|error:' "$LOG") warning(s)/error(s); log: $LOG"
fi
((${#kos[@]})) || die "$TAG: make made no module; log: $LOG"
# kbuild silently drops C=2 when it finds no usable sparse (only a make
# $(warning), without "warning:"): a sparse run must show CHECK lines.
if ((SPARSE)) && { grep -q 'is not available or not up to date' "$LOG" ||
	! grep -qE '^ +CHECK ' "$LOG"; }; then
	cat "$LOG" >&2
	die "$TAG: sparse did not run; log: $LOG"
fi
[[ $SRC != "$DMP_TOP/dmp" || -f $OUT/src/dmp.ko ]] || die "$TAG: no dmp.ko; log: $LOG"
cp "${kos[@]}" "$OUT/" # only a clean build leaves a module in OUTDIR
log "$TAG: OK: ${kos[*]##*/} for $KVER in $OUT"
