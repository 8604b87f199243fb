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

# dmp_tag TAG: print the canonical tag for TAG ("7.x", "7.*", "7.2"... are
# sid, the newest kernel), or fail for an unknown tag.
dmp_tag() {
	case "$1" in
	5.10 | 6.1 | 6.12 | sid) printf '%s\n' "$1" ;;
	7 | 7.*) printf '%s\n' sid ;;
	*) return 1 ;;
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
DMP_SID_CHROOT=$DMP_CACHE/sid-chroot
