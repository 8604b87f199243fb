#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# deps.sh: install the host packages a part of the tree needs, when missing
# (Debian/Ubuntu, apt). Fast and silent when everything is there; runs
# `apt-get update` only when an install fails without it. Needs root to
# install anything (CI runs as root).
#
#   deps.sh [-v] [GROUP...]   -v: say what is there
#
# Groups: testbed (the default: make check, make demo, make bench; the
# guests use the host's programs over 9p, so what the cases run is here),
# packaging (make deb, make rpm, make lint-packaging, make check-packaging),
# debug (the debug kernel's build: make check-debug, debug-kernel.sh),
# secureboot (make check-secureboot; not in CI), all (all but secureboot).

set -euo pipefail

TESTBED=(
	make            # the entry points
	gcc             # dmp.ko for 5.10, 6.1, 6.12 (with the kernels' headers)
	libc6-dev       # the same
	git             # make rpm, CI's fresh clone
	qemu-system-x86 # the guests (TCG)
	busybox-static  # the guests' initramfs
	fio             # I/O load in the guests (tests, demo, benchmark)
	dmsetup         # device-mapper in the guests
	kmod            # depmod/modprobe for the module trees
	cpio            # the initramfs
	python3         # tests and tools
	e2fsprogs       # mkfs.ext4 (tests, packaging images)
	util-linux      # losetup, blkdiscard, flock, ...
	mount           # mount (the sid build chroot), losetup
	mmdebstrap      # the sid build chroot, packaging test systems
	dpkg-dev        # dpkg-deb, apt-get download of kernels
	sparse          # make sparse
	dwarves         # pahole: BTF for 6.12+ module builds
	xz-utils        # compressed kernels and modules
	zstd            # compressed kernels and modules
	lvm2            # LVM on dmp (tests/dm)
	dosfstools      # mkfs.fat: a loop device over vfat refuses discards (tests/stats/007)
	clang           # dmpstat: its warnings-fatal second compiler, libFuzzer
	libclang-rt-14-dev # dmpstat: libFuzzer's and the sanitizers' runtime
	sysstat         # dmpstat's cases: iostat side by side
	prometheus      # dmpstat's cases: promtool check metrics
	qemu-system-arm # arm64 guests (tags KERNEL-arm64)
	gcc-aarch64-linux-gnu # dmp.ko for Debian's arm64 kernels
)

PACKAGING=(
	debhelper    # make deb (debhelper-compat 13)
	dh-dkms      # make deb (dh-sequence-dkms)
	dkms         # the packages' builds, make dkms-install
	dpkg-dev     # dpkg-buildpackage
	build-essential # dpkg-buildpackage's implicit build dependency
	fakeroot     # dpkg-buildpackage as non-root
	gcc          # make deb, make rpm: dmpstat (dmp-utils)
	libc6-dev    # the same
	lintian      # make lint-packaging
	devscripts   # make lint-packaging: hardening-check (dmpstat)
	blhc         # make lint-packaging: the build flags in the .deb build log
	prometheus   # make check-packaging: promtool check metrics
	rpm          # make rpm (rpmbuild)
	rpmlint      # make lint-packaging
	shellcheck   # make lint-packaging (the packaging scripts)
	mmdebstrap   # make check-packaging: the installed systems
	qemu-system-x86 # make check-packaging: booting them
	e2fsprogs    # make check-packaging: their disk images
	util-linux   # make check-packaging: unshare
	git          # make rpm: git archive
)

DEBUG=(
	gcc make      # the kernel build (debug-kernel.sh)
	flex bison bc # kconfig, the kernel build
	libelf-dev    # objtool (CONFIG_UNWINDER_ORC)
	libssl-dev    # certs, sign-file
	lz4           # CONFIG_KERNEL_LZ4
	dpkg-dev      # dpkg-deb: the linux-source-6.1 package
	xz-utils      # its tarball
	kmod          # depmod
)

SECUREBOOT=(
	ovmf          # make check-secureboot: OVMF_CODE_4M.secboot.fd, OVMF_VARS_4M.ms.fd
	shim-signed   # its ESP: shimx64.efi.signed, mmx64.efi.signed (MokManager)
	grub-efi-amd64-signed # its ESP: grubx64.efi.signed
	mtools        # the ESP without a loop mount (mmd, mcopy)
	dosfstools    # mkfs.fat
	fdisk         # sfdisk: the GPT
	python3       # sb-console.py, the serial console driver
	qemu-system-x86 # booting it
	mmdebstrap    # the system
	e2fsprogs     # mkfs.ext4 -d
	util-linux    # unshare
)

verbose=
if [ "${1:-}" = -v ]; then
	verbose=1
	shift
fi
[ $# -gt 0 ] || set -- testbed
PACKAGES=()
for g in "$@"; do
	case "$g" in
	testbed) PACKAGES+=("${TESTBED[@]}") ;;
	packaging) PACKAGES+=("${PACKAGING[@]}") ;;
	secureboot) PACKAGES+=("${SECUREBOOT[@]}") ;;
	debug) PACKAGES+=("${DEBUG[@]}") ;;
	all) PACKAGES+=("${TESTBED[@]}" "${PACKAGING[@]}" "${DEBUG[@]}") ;; # what CI needs: not secureboot
	*) echo "deps: unknown group $g (testbed, packaging, debug, secureboot, all)" >&2; exit 2 ;;
	esac
done

# one dpkg-query for all: "name status" of the installed ones
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null |
	awk '/ ok installed$/ { print $1 }') || true
missing=()
for p in "${PACKAGES[@]}"; do
	if grep -qx "$p" <<<"$installed"; then
		[ -z "$verbose" ] || echo "deps: $p: installed"
	else
		missing+=("$p")
	fi
done
[ ${#missing[@]} -gt 0 ] || exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: run as root, or: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi

echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt_install() {
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/deps.$$.log 2>&1
}
if ! apt_install; then
	# most likely stale or missing package lists: update once and retry
	apt-get update -qq >/dev/null 2>&1 || true
	if ! apt_install; then
		cat /tmp/deps.$$.log >&2
		rm -f /tmp/deps.$$.log
		echo "deps: apt-get install ${missing[*]} failed" >&2
		exit 1
	fi
fi
rm -f /tmp/deps.$$.log
