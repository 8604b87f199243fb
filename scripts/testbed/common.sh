# shellcheck shell=bash
# common.sh - sourced by the test-bed scripts: where the kernel cache lives and
# which kernel tags exist.  Keep this file to path and tag resolution only.
# shellcheck disable=SC2034 # the variables are used by the sourcing scripts

# Top of the source tree (this file is scripts/testbed/common.sh).
DMP_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# The cache: downloaded packages, extracted kernels, the sid build chroot.
DMP_CACHE=${DMP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dmp}

# Every kernel the test bed knows, oldest first.
DMP_TAGS=(5.10 6.1 6.12 sid)

# Architectures other than the host's (amd64) that the test bed builds and
# boots Debian kernels of: a tag then reads KERNEL-ARCH (e.g. 6.1-arm64,
# 6.1-i386; HACKING.md, "Other architectures"). sid is amd64 only (its
# headers need gcc-16, which Debian has no cross compiler of in bookworm);
# 6.12 has no i386 kernel (Debian stopped building them with 6.12).
DMP_ARCHES=(arm64 i386)

# dmp_tag TAG: print the canonical tag for TAG ("7.x", "7.*", "7.2"... are
# sid, the newest kernel; KERNEL-amd64 is KERNEL), or fail for an unknown tag.
dmp_tag() {
	case "$1" in
	5.10 | 6.1 | 6.12 | sid) printf '%s\n' "$1" ;;
	7 | 7.*) printf '%s\n' sid ;;
	5.10-amd64 | 6.1-amd64 | 6.12-amd64) printf '%s\n' "${1%-amd64}" ;;
	5.10-arm64 | 6.1-arm64 | 6.12-arm64 | 5.10-i386 | 6.1-i386)
		printf '%s\n' "$1" ;;
	*) return 1 ;;
	esac
}

# dmp_arch TAG: the Debian architecture of a canonical tag (amd64 when the
# tag names none; "debug" is amd64 too).
dmp_arch() {
	case "$1" in
	*-arm64) echo arm64 ;;
	*-i386) echo i386 ;;
	*) echo amd64 ;;
	esac
}

# dmp_base_tag TAG: the kernel series of a canonical tag (6.1-arm64 -> 6.1).
dmp_base_tag() {
	printf '%s\n' "${1%-*[a-z]*}"
}

# dmp_flavour ARCH: Debian's kernel flavour (the meta packages
# linux-image-FLAVOUR / linux-headers-FLAVOUR) tested on ARCH.
dmp_flavour() {
	case "$1" in
	i386) echo 686-pae ;;
	*) echo "$1" ;;
	esac
}

# dmp_kernel_dir TAG: the cache directory of a (canonical) tag, as documented
# in HACKING.md; it holds kver, vmlinuz, root/, kdir and, when complete, ready.
dmp_kernel_dir() {
	printf '%s\n' "$DMP_CACHE/kernels/$1"
}

# dmp_guest_out_dir DIR: create DIR and print its absolute path; fail when a
# guest of vmrun.sh could not write there (inside the source tree, which the
# guest sees read-only, or under /tmp, /run, /var/tmp, tmpfs in the guest).
dmp_guest_out_dir() {
	local d
	mkdir -p "$1" && d=$(cd "$1" && pwd) || return 1
	case "$d/" in
	"$DMP_TOP"/* | /tmp/* | /run/* | /var/tmp/*) return 1 ;;
	esac
	printf '%s\n' "$d"
}

# The chroot in which sid modules are built (their headers need a newer
# compiler and glibc than the host has).
DMP_SID_CHROOT=${DMP_SID_CHROOT:-$DMP_CACHE/sid-chroot}
