#!/bin/bash
# e2e.sh - end-to-end test of the packaging (make check-packaging).
#
#  1. build dmp-dkms_<v>_all.deb and dmp-utils_<v>_<arch>.deb from a clean
#     export of the tree, and the .rpms; version-check, lintian and rpmlint
#     (no errors), dmpstat's hardening;
#  2. install both .debs into a fresh bookworm system (systemd, udev, dkms,
#     the stock kernel and its headers, Debian's prometheus-node-exporter):
#     DKMS must build dmp for the chroot's kernel (not the host's: `uname -r`
#     differs in a chroot);
#  3. install the bookworm-backports kernel and headers: DKMS must rebuild dmp
#     for it from its kernel hooks;
#  4. make a disk image of that system (mkfs.ext4 -d, no loop mount) and boot
#     each kernel under QEMU/TCG with its own initrd and systemd; a oneshot unit
#     (guest/dmp-e2e-check) checks modules-load.d, udev, dmsetup, the counters,
#     the reset permissions and dkms status, and writes its verdict to the
#     second serial port; on the first kernel also dmp-utils: the timer
#     enabled as README says, I/O of known size scraped from node_exporter
#     on 127.0.0.1:9100, `dmpstat --reset` by a member of disk, the module
#     unloaded, and `apt-get purge dmp-utils` on the running system; the
#     metrics it saw are checked on the host with `promtool check metrics`;
#  5. purge the .debs (dmp-utils with its timer enabled, offline): the module
#     goes from every kernel, the units and their enablement go;
#  6. run the .rpms' scriptlets by hand in the same system (dmp-dkms: build
#     for every kernel, keep on upgrade, remove on erase; dmp-utils: erase
#     disables the timer and removes dmp.prom);
#  7. purge every kernel headers package: the .deb (and the rpm scriptlets)
#     must still install and go cleanly (exit 0); then again with no kernel
#     at all (a container);
#  8. dmp-utils without node_exporter: its service makes the directory,
#     purging dmp-utils takes it away again.
#
# The base system (mmdebstrap, ~5 min) is cached under $DMP_CACHE/pkg, keyed
# by the date and its recipe, so later runs the same day start from it; the
# freshly built .deb is always installed. `e2e.sh prepare` only makes it.
# Needs root (chroot, mmdebstrap), mmdebstrap, qemu-system-x86_64, e2fsprogs,
# dpkg-buildpackage, dh-dkms, rpmbuild, rpmlint, lintian, hardening-check,
# promtool and access to deb.debian.org. At most one QEMU runs at a time.
#
# Prints one line per check and ends with "N passed, M failed"; exits non-zero
# when a check failed.
#
# Environment: DMP_CACHE, E2E_WORK (scratch, default build/pkg-e2e),
# E2E_KEEP=1 (keep the scratch tree and image), E2E_BOOT_TIMEOUT (seconds per
# boot, default 900), E2E_MIRROR (default http://deb.debian.org).

set -u
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || pkg_die "must run as root (chroot, mmdebstrap)"
pkg_deps
for t in mmdebstrap qemu-system-x86_64 mkfs.ext4 dpkg-buildpackage unshare promtool hardening-check; do
	command -v "$t" >/dev/null || pkg_die "$t is missing"
done

VERSION=$(pkg_version)
WORK=${E2E_WORK:-$PKG_BUILD/pkg-e2e}
MIRROR=${E2E_MIRROR:-http://deb.debian.org}
BOOT_TIMEOUT=${E2E_BOOT_TIMEOUT:-900}
GUEST=$PKG_TOP/scripts/packaging/guest
T0=$(date +%s)

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

# openssl: DKMS signs modules with its MOK key (/var/lib/dkms/mok.*) as on a
# typical installed system
# prometheus-node-exporter (Debian's, enabled by its package; its textfile
# directory is /var/lib/prometheus/node-exporter) and curl: dmp-utils' timer
# feeding it, scraped as Prometheus would
MAIN_PKGS="systemd,systemd-sysv,udev,kmod,dmsetup,dkms,linux-image-amd64,linux-headers-amd64,gcc,make,e2fsprogs,initramfs-tools,openssl,prometheus-node-exporter,curl"
# the backports kernel is only downloaded into the base; each run installs it
MAIN_HOOK='chroot "$1" apt-get clean && chroot "$1" apt-get install -y -q --download-only -t bookworm-backports linux-image-amd64 linux-headers-amd64'

if [ "${1:-}" = prepare ]; then
	# only make (or refresh) the cached base systems
	base bookworm-system "$MAIN_PKGS" "$MAIN_HOOK"
	exit
fi

# --- 1. build and lint the packages ----------------------------------------------------

rm -rf "$WORK"
mkdir -p "$WORK"
: >"$WORK/apt.log"

phase_start "build .deb"
DEB_OUT=$WORK/deb
if DIST=$DEB_OUT "$PKG_TOP/scripts/packaging/build-deb.sh" >"$WORK/build-deb.log" 2>&1; then
	pass "deb-build"
else
	tail -n 30 "$WORK/build-deb.log"
	fail "deb-build" "see $WORK/build-deb.log"
	finish
fi
DEB=$(ls "$DEB_OUT"/dmp-dkms_"$VERSION"-*_all.deb 2>/dev/null | head -n1)
UDEB=$(ls "$DEB_OUT"/dmp-utils_"$VERSION"-*_"$(dpkg --print-architecture)".deb 2>/dev/null | head -n1)
check deb-exists test -f "$DEB"
check deb-utils-exists test -f "$UDEB"
contents=$(dpkg-deb -c "$DEB" | awk '{print $6}' | sed 's|^\./|/|')
for f in "/usr/src/dmp-$VERSION/dkms.conf" "/usr/src/dmp-$VERSION/dmp/Kbuild" \
	/usr/lib/modules-load.d/dmp.conf /lib/udev/rules.d/60-dmp.rules; do
	check "deb-has:$f" grep -qx "$f" <<<"$contents"
done
check deb-no-tests sh -c "! grep -q '^/usr/src/dmp-$VERSION/tests' <<EOF
$contents
EOF"
dpkg-deb --fsys-tarfile "$DEB" | tar -xO "./usr/src/dmp-$VERSION/dkms.conf" >"$WORK/dkms.conf"
check deb-dkms-conf-version grep -qx "PACKAGE_VERSION=\"$VERSION\"" "$WORK/dkms.conf"
ucontents=$(dpkg-deb -c "$UDEB" | awk '{print $6}' | sed 's|^\./|/|')
for f in /usr/bin/dmpstat /usr/share/man/man8/dmpstat.8.gz \
	/usr/share/bash-completion/completions/dmpstat /usr/share/dmp-utils/dmp.rules.yml \
	/lib/systemd/system/dmpstat-prometheus.service /lib/systemd/system/dmpstat-prometheus.timer; do
	check "deb-utils-has:$f" grep -qx "$f" <<<"$ucontents"
done
check deb-utils-arch test "$(dpkg-deb -f "$UDEB" Architecture)" = "$(dpkg --print-architecture)"
check deb-utils-hardening sh -c "'$PKG_TOP/scripts/packaging/hardening.sh' '$UDEB' >'$WORK/hardening.log' 2>&1"
phase_end

phase_start "lint"
check version-check "$PKG_TOP/scripts/version-check.sh"
check lintian-no-errors lintian --fail-on error --tag-display-limit 0 "$DEB" "$UDEB"
if command -v rpmbuild >/dev/null && command -v rpmlint >/dev/null; then
	check rpm-build sh -c "DIST='$WORK/rpm' '$PKG_TOP/scripts/packaging/build-rpm.sh' >'$WORK/build-rpm.log' 2>&1"
	check rpmlint-no-errors rpmlint -r "$PKG_TOP/dmp.rpmlintrc" "$WORK/rpm/dmp-dkms-$VERSION"-*.noarch.rpm \
		"$WORK/rpm/dmp-utils-$VERSION"-*."$(rpm --eval '%{_arch}')".rpm \
		"$WORK/rpm/dmp-$VERSION"-*.src.rpm "$PKG_TOP/dmp.spec"
else
	fail rpm-build "rpmbuild or rpmlint is missing"
fi
phase_end

# --- 2. a bookworm system: install the .deb, DKMS builds for its kernel ------

phase_start "install .deb (bookworm kernel)"
MAIN_BASE=$(base bookworm-system "$MAIN_PKGS" "$MAIN_HOOK") || {
	fail "base-system" "mmdebstrap failed"
	finish
}
R=$WORK/root
copy_base "$MAIN_BASE" "$R"
cp "$DEB" "$UDEB" "$R/root/"
KV1=$(kernels "$R")
printf '    host kernel %s, chroot kernel %s\n' "$(uname -r)" "$KV1"
check chroot-one-kernel test "$(printf '%s\n' "$KV1" | wc -l)" -eq 1
check install-exit0 apt_in "$R" install "/root/${DEB##*/}" "/root/${UDEB##*/}"
check dkms-built-for-chroot-kernel dkms_ko "$R" "$KV1"
check dkms-not-for-host-kernel test ! -e "$R/lib/modules/$(uname -r)/updates/dkms"
check dkms-status-installed dkms_installed "$R" "$KV1"
phase_end

# --- 3. a kernel upgrade (bookworm-backports): DKMS rebuilds -----------------

phase_start "install backports kernel"
check backports-install-exit0 apt_in "$R" install -t bookworm-backports linux-image-amd64 linux-headers-amd64
KV2=$(kernels "$R" | grep -vx "$KV1" | head -n1)
printf '    backports kernel %s\n' "${KV2:-none}"
check backports-kernel-installed test -n "$KV2"
check dkms-rebuilt-for-new-kernel dkms_ko "$R" "$KV2"
check dkms-status-new-kernel dkms_installed "$R" "$KV2"
check dkms-status-old-kernel-kept dkms_installed "$R" "$KV1"
phase_end

# --- 4. the disk image --------------------------------------------------------

phase_start "disk image"
apt_in "$R" clean
in_root "$R" useradd -M -s /bin/sh -G disk e2edisk
in_root "$R" useradd -M -s /bin/sh e2eother
cat >"$R/etc/dmp-e2e.conf" <<EOF
VERSION=$VERSION
DISK_USER=e2edisk
OTHER_USER=e2eother
EOF
install -D -m 0755 "$GUEST/dmp-e2e-check" "$R/usr/local/sbin/dmp-e2e-check"
install -D -m 0644 "$GUEST/dmp-e2e.service" "$R/etc/systemd/system/dmp-e2e.service"
mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/dmp-e2e.service "$R/etc/systemd/system/multi-user.target.wants/dmp-e2e.service"
echo dmp-e2e >"$R/etc/hostname"
rm -f "$R/usr/sbin/policy-rc.d"
: >"$R/etc/resolv.conf"
for kv in $KV1 $KV2; do
	cp "$R/boot/vmlinuz-$kv" "$R/boot/initrd.img-$kv" "$WORK/" ||
		fail "boot-files-$kv" "no vmlinuz/initrd.img for $kv in /boot"
done
size=$(($(du -sm "$R" | cut -f1) * 5 / 4 + 512))
IMG=$WORK/disk.img
rm -f "$IMG"
truncate -s "${size}M" "$IMG"
# The image has no package lists: the guest's `apt-get purge dmp-utils` needs
# none, and with them apt rebuilds its cache (cleaned above) from them under
# TCG first (80 s). The chroot keeps them for the steps below.
mv "$R/var/lib/apt/lists" "$WORK/apt-lists"
mkdir -p "$R/var/lib/apt/lists/partial"
check mkfs-image mkfs.ext4 -q -F -L dmp-e2e -d "$R" "$IMG"
rm -rf "$R/var/lib/apt/lists"
mv "$WORK/apt-lists" "$R/var/lib/apt/lists"
phase_end

# --- 4. boot each kernel --------------------------------------------------------

# boot KVER [MONITOR]: MONITOR=1 also checks dmp-utils (guest section 8)
boot() {
	local kv=$1 monitor=${2:-0} con=$WORK/console-$1.log res=$WORK/result-$1.txt rc
	: >"$con"
	: >"$res"
	timeout "$BOOT_TIMEOUT" qemu-system-x86_64 -accel tcg -m 2560 -smp 2 \
		-kernel "$WORK/vmlinuz-$kv" -initrd "$WORK/initrd.img-$kv" \
		-append "root=/dev/vda rw console=ttyS0 panic=-1 systemd.show_status=1 dmp_e2e.monitor=$monitor" \
		-drive "file=$IMG,if=virtio,format=raw,snapshot=on" \
		-serial "file:$con" -serial "file:$res" \
		-display none -monitor none -nic none -no-reboot </dev/null
	rc=$?
	printf '    qemu exit %s (never the verdict), console %s\n' "$rc" "$con"
	[ "$rc" -eq 124 ] && fail "boot-$kv-timeout" "no power-off within ${BOOT_TIMEOUT}s"
	tr -d '\r' <"$res" >"$res.clean"
	grep -E '^(ok|not ok|info|kernel) ' "$res.clean" | sed 's/^/    guest: /'
	check "boot-$kv-running-kernel" grep -qx "kernel $kv" "$res.clean"
	while IFS= read -r line; do
		case $line in
		"ok "*) pass "guest-$kv:${line#ok }" ;;
		"not ok "*) fail "guest-$kv:${line#not ok }" ;;
		esac
	done <"$res.clean"
	check "boot-$kv-checks-completed" grep -qx DONE "$res.clean"
	if [ "$monitor" = 1 ]; then
		# dmp.prom as the timer wrote it, and the dmp families node_exporter
		# served: the Prometheus text format, lint-clean
		sed -n 's/^prom-file //p' "$res.clean" >"$WORK/dmp-$kv.prom"
		sed -n 's/^prom-scrape //p' "$res.clean" >"$WORK/scrape-$kv.prom"
		printf '    dmp.prom: %s lines, scraped: %s lines\n' \
			"$(wc -l <"$WORK/dmp-$kv.prom")" "$(wc -l <"$WORK/scrape-$kv.prom")"
		for f in dmp scrape; do
			check "promtool-$f-$kv" sh -c "grep -q '^dmp_' '$WORK/$f-$kv.prom' &&
				promtool check metrics <'$WORK/$f-$kv.prom'"
		done
	fi
	if grep -qE 'Kernel panic|BUG:|Oops' "$con"; then
		fail "boot-$kv-console-clean" "$(grep -m1 -E 'Kernel panic|BUG:|Oops' "$con")"
	else
		pass "boot-$kv-console-clean"
	fi
}

# dmp-utils and node_exporter on the first (Debian's stock) kernel only
monitor=1
for kv in $KV1 $KV2; do
	phase_start "boot $kv"
	boot "$kv" "$monitor"
	monitor=0
	phase_end
done

# --- 5. purge removes the module from every kernel ---------------------------

phase_start "purge"
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
chmod 755 "$R/usr/sbin/policy-rc.d"
# dmp-utils with its timer enabled by an admin (offline, as in a chroot):
# purge removes the units and the enablement
in_root "$R" systemctl enable dmpstat-prometheus.timer >/dev/null 2>&1
check purge-utils-enabled-before test -L "$R/etc/systemd/system/timers.target.wants/dmpstat-prometheus.timer"
ufiles=$(in_root "$R" dpkg-query -L dmp-utils | while read -r f; do
	if [ -f "$R$f" ]; then printf '%s\n' "$f"; fi
done)
check purge-exit0 apt_in "$R" purge dmp-utils dmp-dkms
check purge-utils-link-gone test ! -e "$R/etc/systemd/system/timers.target.wants/dmpstat-prometheus.timer" \
	-a ! -L "$R/etc/systemd/system/timers.target.wants/dmpstat-prometheus.timer"
left=$(for f in $ufiles; do if [ -e "$R$f" ]; then echo "$f"; fi; done)
check purge-utils-no-files test -z "$left"
[ -z "$left" ] || printf '    left behind: %s\n' "$left"
for kv in $KV1 $KV2; do
	check "purge-removed-module-$kv" sh -c "! ls '$R/lib/modules/$kv/updates/dkms/'dmp.ko* >/dev/null 2>&1"
done
check purge-removed-source test ! -e "$R/usr/src/dmp-$VERSION"
phase_end

# --- 6. the rpm's scriptlets, run by hand in the same (now clean) system -----
# No rpm transaction here, but the scriptlets' dkms logic is what matters:
# build for every installed kernel, never fail, keep the module across an
# upgrade (%preun with $1=1), remove it on erase ($1=0).

phase_start "rpm scriptlets"
RPM=$(ls "$WORK/rpm/dmp-dkms-$VERSION"-*.noarch.rpm 2>/dev/null | head -n1)
if [ -n "$RPM" ]; then
	(cd "$R" && rpm2cpio "$RPM" | cpio -idm --quiet)
	rpm -qp --qf '%{POSTIN}\n' "$RPM" >"$R/root/rpm-post.sh"
	rpm -qp --qf '%{PREUN}\n' "$RPM" >"$R/root/rpm-preun.sh"
	check rpm-post-install-exit0 in_root "$R" sh /root/rpm-post.sh 1
	for kv in $KV1 $KV2; do
		check "rpm-post-built-$kv" dkms_installed "$R" "$kv"
	done
	check rpm-preun-upgrade-exit0 in_root "$R" sh /root/rpm-preun.sh 1
	check rpm-preun-upgrade-keeps-module dkms_ko "$R" "$KV2"
	check rpm-preun-erase-exit0 in_root "$R" sh /root/rpm-preun.sh 0
	check rpm-preun-erase-removes sh -c "! ls '$R'/lib/modules/*/updates/dkms/dmp.ko* >/dev/null 2>&1"
	# what rpm -e would do with the payload
	rpm -qlp "$RPM" | sort -r | while read -r f; do
		rm -f "$R$f" 2>/dev/null || rmdir "$R$f" 2>/dev/null
	done
else
	fail rpm-scriptlets "no rpm was built"
fi
# dmp-utils: post on install, then erase with the timer enabled and a dmp.prom
URPM=$(ls "$WORK/rpm/dmp-utils-$VERSION"-*."$(rpm --eval '%{_arch}')".rpm 2>/dev/null | head -n1)
if [ -n "$URPM" ]; then
	wants=$R/etc/systemd/system/timers.target.wants/dmpstat-prometheus.timer
	prom=$R/var/lib/prometheus/node-exporter/dmp.prom
	(cd "$R" && rpm2cpio "$URPM" | cpio -idm --quiet)
	for sc in POSTIN PREUN POSTUN; do
		rpm -qp --qf "%{$sc}\n" "$URPM" >"$R/root/rpm-utils-$sc.sh"
	done
	check rpm-utils-post-exit0 in_root "$R" sh /root/rpm-utils-POSTIN.sh 1
	check rpm-utils-post-not-enabled test ! -L "$wants"
	in_root "$R" systemctl enable dmpstat-prometheus.timer >/dev/null 2>&1
	mkdir -p "${prom%/*}"
	echo 'dmp_module_loaded 0' >"$prom"
	check rpm-utils-preun-erase-exit0 in_root "$R" sh /root/rpm-utils-PREUN.sh 0
	check rpm-utils-preun-disables test ! -L "$wants"
	check rpm-utils-postun-erase-exit0 in_root "$R" sh /root/rpm-utils-POSTUN.sh 0
	check rpm-utils-postun-removes-prom test ! -e "$prom"
	rpm -qlp "$URPM" | sort -r | while read -r f; do
		rm -f "$R$f" 2>/dev/null || rmdir "$R$f" 2>/dev/null
	done
else
	fail rpm-utils-scriptlets "no dmp-utils rpm was built"
fi
phase_end

# --- 7. no kernel headers at all, then no kernel at all ----------------------
# Purge every headers package from the same system (two kernels, no headers
# left): both packages must install and go cleanly, DKMS only registers dmp.

phase_start "no headers, no kernel"
hdrs=$(in_root "$R" dpkg-query -W -f '${Package}\n' 'linux-headers-*' 'linux-kbuild-*' 2>/dev/null | tr '\n' ' ')
check nohdr-purge-headers apt_in "$R" purge $hdrs
check nohdr-no-headers-left sh -c "! ls -d '$R'/lib/modules/*/build '$R'/usr/src/linux-headers-* 2>/dev/null | grep -q ."
check nohdr-install-exit0 apt_in "$R" install "/root/${DEB##*/}"
st=$(in_root "$R" dkms status -m dmp 2>/dev/null)
printf '    dkms status: %s\n' "$st"
check nohdr-dkms-added grep -Fqx "dmp/$VERSION: added" <<<"$st"
check nohdr-no-module sh -c "! ls '$R'/lib/modules/*/updates/dkms/dmp.ko* 2>/dev/null | grep -q ."
check nohdr-purge-exit0 apt_in "$R" purge dmp-dkms
check nohdr-purge-clean sh -c "[ ! -e '$R/usr/src/dmp-$VERSION' ] && [ ! -e '$R/var/lib/dkms/dmp' ]"
if [ -n "$RPM" ]; then
	check nohdr-rpm-post-exit0 in_root "$R" sh /root/rpm-post.sh 1
	check nohdr-rpm-preun-exit0 in_root "$R" sh /root/rpm-preun.sh 0
fi
# no kernel at all (a container)
mv "$R/lib/modules" "$R/lib/modules.away"
check nokernel-install-exit0 apt_in "$R" install "/root/${DEB##*/}"
check nokernel-purge-exit0 apt_in "$R" purge dmp-dkms
if [ -n "$RPM" ]; then
	check nokernel-rpm-post-exit0 in_root "$R" sh /root/rpm-post.sh 1
	check nokernel-rpm-preun-exit0 in_root "$R" sh /root/rpm-preun.sh 0
fi
phase_end

# --- 8. dmp-utils without node_exporter --------------------------------------
# The service makes node_exporter's directory itself; purging dmp-utils
# takes away what it made (no package owns it then).

phase_start "dmp-utils without node_exporter"
check nonode-purge-node-exporter apt_in "$R" purge prometheus-node-exporter
check nonode-no-dir test ! -e "$R/var/lib/prometheus"
check nonode-install-utils apt_in "$R" install "/root/${UDEB##*/}"
# the service's command, as systemd runs it (no systemd in a chroot)
svc=$(sed -n "s/^ExecStart=\/bin\/sh -c '\(.*\)'\$/\1/p" \
	"$R/lib/systemd/system/dmpstat-prometheus.service" | sed 's/\$\$/$/g')
check nonode-service-exit0 in_root "$R" /bin/sh -c "$svc"
check nonode-service-wrote grep -qx 'dmp_module_loaded 0' "$R/var/lib/prometheus/node-exporter/dmp.prom"
check nonode-purge-utils apt_in "$R" purge dmp-utils
check nonode-purge-removed-dir test ! -e "$R/var/lib/prometheus"
phase_end

if [ -z "${E2E_KEEP:-}" ]; then
	rm -rf "$R" "$IMG"
fi
finish
