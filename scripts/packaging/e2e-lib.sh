# shellcheck shell=bash
# e2e-lib.sh - sourced by the end-to-end tests of the packages that boot
# Debian systems (secureboot.sh: make
# check-secureboot), after lib.sh: verdict lines, phase times, chroot and apt
# helpers, the cached mmdebstrap base systems, DKMS queries.
# The sourcing script sets WORK (scratch), MIRROR, VERSION and T0 first.
# shellcheck disable=SC2034 # the variables are used by the sourcing scripts

PASS=0
FAIL=0
declare -a TIMES=()

pass() {
	PASS=$((PASS + 1))
	printf 'PASS %s\n' "$1"
}
fail() {
	FAIL=$((FAIL + 1))
	printf 'FAIL %s%s\n' "$1" "${2:+: $2}"
}
# check NAME CMD...: one check, passes when CMD succeeds
check() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}
phase_start() {
	PHASE=$1
	PHASE_T0=$(date +%s)
	pkg_log "$1"
}
phase_end() {
	TIMES+=("$(printf '%-32s %4ss' "$PHASE" $(($(date +%s) - PHASE_T0)))")
}
finish() {
	local t
	printf '\ntimes:\n'
	for t in "${TIMES[@]}"; do printf '  %s\n' "$t"; done
	printf '  %-32s %4ss\n' total $(($(date +%s) - T0))
	printf '%d passed, %d failed\n' "$PASS" "$FAIL"
	[ "$FAIL" -eq 0 ]
	exit
}

# --- chroot helpers ----------------------------------------------------------

SOURCES="deb $MIRROR/debian bookworm main
deb $MIRROR/debian bookworm-updates main
deb $MIRROR/debian-security bookworm-security main
deb $MIRROR/debian bookworm-backports main"

# a base system's last hook: the backports kernel and headers are only
# downloaded into the base (apt's cache); each run installs them
BACKPORTS_HOOK='chroot "$1" apt-get clean && chroot "$1" apt-get install -y -q --download-only -t bookworm-backports linux-image-amd64 linux-headers-amd64'

# in_root ROOT CMD...: run CMD chrooted in ROOT with fresh /proc, /sys and /dev,
# in private mount and pid namespaces (nothing outlives it, nothing leaks).
in_root() {
	local root=$1
	shift
	unshare --mount --pid --fork --propagation private -- \
		/bin/sh -c '
		r=$1; shift
		mount -t proc proc "$r/proc" &&
		mount -t sysfs sysfs "$r/sys" &&
		mount --rbind /dev "$r/dev" &&
		mount -t tmpfs tmpfs "$r/tmp" || exit 125
		exec chroot "$r" /usr/bin/env -i \
			PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
			DEBIAN_FRONTEND=noninteractive "$@"' sh "$root" "$@"
}

# apt_in ROOT ARGS...: apt-get in ROOT, quiet unless it fails
apt_in() {
	local root=$1 log
	shift
	log=$(mktemp)
	if in_root "$root" apt-get -y -q -o Dpkg::Use-Pty=0 "$@" >"$log" 2>&1; then
		cat "$log" >>"$WORK/apt.log"
		rm -f "$log"
		return 0
	fi
	cat "$log" >>"$WORK/apt.log"
	printf '    apt-get %s failed; last lines:\n' "$*" >&2
	tail -n 30 "$log" | sed 's/^/    | /' >&2
	rm -f "$log"
	return 1
}

# base NAME PACKAGES [EXTRA-HOOK]: path of a cached mmdebstrap tree (minbase +
# PACKAGES), made if missing. Keyed by date and recipe; older ones are removed.
base() {
	local name=$1 pkgs=$2 hook=${3:-true} key dir
	key=$(printf '%s\n%s\n%s\n%s\n' "$name" "$pkgs" "$hook" "$SOURCES" | sha256sum | cut -c1-10)
	dir=$PKG_CACHE/$name-$(date +%Y%m%d)-$key
	if [ ! -e "$dir/.ready" ]; then
		pkg_log "creating base system $dir (mmdebstrap, a few minutes)"
		mkdir -p "$PKG_CACHE"
		rm -rf "$dir" "$PKG_CACHE/$name"-*
		# keep apt's lists (installs need no update) and its cache (the
		# backports kernel is downloaded here once and installed per run)
		if ! printf '%s\n' "$SOURCES" | mmdebstrap --mode=root --variant=minbase \
			--include="$pkgs" --skip=cleanup/apt \
			--aptopt='Acquire::Retries "3"' \
			--customize-hook='printf "#!/bin/sh\nexit 101\n" >"$1/usr/sbin/policy-rc.d"; chmod 755 "$1/usr/sbin/policy-rc.d"' \
			--customize-hook="$hook" \
			bookworm "$dir" - >"$PKG_CACHE/$name.log" 2>&1; then
			tail -n 30 "$PKG_CACHE/$name.log" >&2
			rm -rf "$dir"
			return 1
		fi
		touch "$dir/.ready"
	fi
	printf '%s\n' "$dir"
}

# copy_base BASE DEST: a private copy of a cached base tree
copy_base() {
	rm -rf "$2"
	cp -a --reflink=auto "$1" "$2" && rm -f "$2/.ready" &&
		cp /etc/resolv.conf "$2/etc/resolv.conf"
}

# kernels ROOT: the kernel releases installed in ROOT
kernels() { ls "$1/lib/modules" 2>/dev/null; }

# dkms_installed ROOT KVER: `dkms status` in ROOT says dmp is installed for KVER
dkms_installed() {
	local st
	st=$(in_root "$1" dkms status -m dmp 2>/dev/null)
	printf '    dkms status: %s\n' "$(printf '%s' "$st" | tr '\n' ';')" >&2
	# dkms 3: "dmp/1.0.0, 6.1.0-13-amd64, x86_64: installed" (KVER may hold a "+")
	printf '%s\n' "$st" | grep -F "dmp/$VERSION, $2, " | grep -q ': installed'
}

# dkms_ko ROOT KVER: the module DKMS installed for KVER exists
dkms_ko() { ls "$1/lib/modules/$2/updates/dkms/"dmp.ko* >/dev/null 2>&1; }

