#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vmrun.sh: boot one kernel under QEMU/TCG and run test cases (or a command)
# inside it. See --help, and HACKING.md ("Runner") for the big picture.
#
# How: a small cached initramfs (static busybox + the 9p/overlay modules +
# guest-init) mounts the host's / read-only over 9p under a tmpfs overlay,
# chroots into it and runs guest-run.sh (a copy in --out). A kernel of
# another architecture (tags KERNEL-arm64, KERNEL-i386) gets a Debian
# userland of its own (userland.sh) as that root instead, with the source
# tree and the kernel's modules shared separately (HACKING.md, "Other
# architectures"). The kernel's
# module tree (a per-run tree of symlinks into the cache plus dmp.ko as
# updates/dmp.ko, indexed by depmod on the host) arrives at /lib/modules/$KVER
# through its own read-only 9p share, and the results come back through a
# writable 9p share of --out.

set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" # DMP_TOP, DMP_CACHE, dmp_tag
SRCDIR=$DMP_TOP

usage() {
	cat <<EOF
Usage: $0 [options] [CASE...]

Boot one kernel under QEMU (TCG) and run test cases in it, in order.

Kernel (one of):
  --kernel TAG        a kernel from the cache (5.10, 6.1, 6.12, sid; 7.x = sid;
                      6.1-arm64, 6.1-i386...), see scripts/testbed/kernels.sh
  --vmlinuz F --modroot DIR --kver V [--arch A]
                      a local kernel: image F, modules in DIR/lib/modules/V,
                      architecture A (amd64, the default; arm64, i386)
Options:
  --ko PATH           dmp.ko to install as updates/dmp.ko (default
                      build/TAG/dmp.ko; "none" installs none)
  --cpus N            vCPUs (default 2)
  --mem SIZE          guest memory (default 2G)
  --qemu-opt "..."    extra QEMU options, split on blanks (repeatable)
  --append "..."      extra kernel command line (repeatable)
  --timeout S         limit for the whole boot (default: 90 + the cases'
                      timeouts, or 3600 with --cmd)
  --out DIR           results directory (default out/vmrun/TAG)
  --cmd 'COMMAND'     run a shell command in the guest after the cases
                      (its output is shown as it comes)
  --cmd-timeout S     per-command timeout in the guest (default: none)
  -q, --quiet         no progress lines
CASE                  a test case file (tests/<area>/<NNN>), see HACKING.md

Results in DIR: <area>-<NNN>.{out,err,rc,result,why,secs,dmesg[,diff]},
console.log (serial console), dmesg.txt, progress.log, DONE.
Exit status: 0 when the guest finished and every case passed or was skipped.
EOF
}

die() { echo "vmrun: $*" >&2; exit 2; }
say() { [ -n "$quiet" ] || echo "$@"; }

tag= vmlinuz= modroot= kver= arch= ko= cpus=2 mem=2G timeout= out= cmd= cmd_timeout= quiet=
qemu_opts=() append=() cases=()
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) tag=$2; shift ;;
	--vmlinuz) vmlinuz=$2; shift ;;
	--modroot) modroot=$2; shift ;;
	--kver) kver=$2; shift ;;
	--arch) arch=$2; shift ;;
	--ko) ko=$2; shift ;;
	--cpus) cpus=$2; shift ;;
	--mem) mem=$2; shift ;;
	--qemu-opt) read -ra o <<<"$2"; qemu_opts+=("${o[@]}"); shift ;;
	--append) append+=("$2"); shift ;;
	--timeout) timeout=$2; shift ;;
	--out) out=$2; shift ;;
	--cmd) cmd=$2; shift ;;
	--cmd-timeout) cmd_timeout=$2; shift ;;
	-q | --quiet) quiet=1 ;;
	-h | --help) usage; exit 0 ;;
	--) shift; cases+=("$@"); break ;;
	-*) die "unknown option $1 (see --help)" ;;
	*) cases+=("$1") ;;
	esac
	shift
done

# --- the kernel ---------------------------------------------------------
if [ -n "$tag" ]; then
	t=$tag
	tag=$(dmp_tag "$tag") || tag=$t # unknown tags (e.g. debug) still may be in the cache
	kdir=$(dmp_kernel_dir "$tag")
	[ -f "$kdir/ready" ] || die "kernel $tag is not in the cache ($kdir); run scripts/testbed/kernels.sh fetch $tag"
	kver=$(cat "$kdir/kver")
	arch=$(dmp_arch "$tag")
	vmlinuz=$kdir/vmlinuz
	modroot=$kdir/root
	[ -n "$ko" ] || ko=$SRCDIR/build/$tag/dmp.ko
	[ -n "$out" ] || out=$SRCDIR/out/vmrun/$tag
else
	[ -n "$vmlinuz" ] && [ -n "$modroot" ] && [ -n "$kver" ] ||
		die "give --kernel TAG, or --vmlinuz, --modroot and --kver"
	[ -n "$ko" ] || die "--ko PATH (or --ko none) is needed with a local kernel"
	[ -n "$out" ] || out=$SRCDIR/out/vmrun/$kver
fi
[ -n "$arch" ] || arch=amd64
case "$arch" in amd64 | arm64 | i386) ;; *) die "unknown arch $arch (amd64, arm64, i386)" ;; esac
[ -f "$vmlinuz" ] || die "no kernel image $vmlinuz"
modroot=$(cd "$modroot" && pwd)
moddir=$modroot/lib/modules/$kver
[ -d "$moddir" ] || die "no module tree $moddir"
[ -n "$cmd" ] || [ ${#cases[@]} -gt 0 ] || die "nothing to run: give test cases or --cmd (see --help)"

# What the kernel's configuration asks of the runner (the debug kernel of
# debug-kernel.sh): KASAN makes everything several times slower, so the case
# timeouts are multiplied by tmo_scale; DEBUG_KOBJECT_RELEASE makes unloading
# a block driver crash the stock kernel (debug.config), so the guest keeps
# them loaded (keep_drivers, see HACKING.md).
kconfig=
for f in "$modroot/boot/config-$kver" "$moddir/build/.config"; do
	[ -f "$f" ] && { kconfig=$f; break; }
done
tmo_scale=1 keep_drivers=0 kmemleak=0
if [ -n "$kconfig" ]; then
	! grep -qx 'CONFIG_DEBUG_KMEMLEAK=y' "$kconfig" || kmemleak=1
	! grep -qx 'CONFIG_KASAN=y' "$kconfig" || tmo_scale=5
	! grep -qx 'CONFIG_DEBUG_KOBJECT_RELEASE=y' "$kconfig" || keep_drivers=1
fi

# The guest mounts tmpfs over these, so host paths under them are invisible.
hidden_in_guest() { case "$1" in /tmp/* | /run/* | /var/tmp/*) return 0 ;; esac; return 1; }
# The source tree reaches the guest through the host root, or, where the
# guest cannot see it there, through a share of its own (a clone in /tmp).
src_share=0
! hidden_in_guest "$SRCDIR/" || src_share=1
hidden_in_guest "$moddir/" && die "the module tree $moddir is under /tmp, /run or /var/tmp, which the guest cannot see"

# Every case as an absolute path, checked here rather than in the guest.
for i in "${!cases[@]}"; do
	c=${cases[$i]}
	[ -f "$c" ] || die "no test case $c"
	c=$(cd "$(dirname "$c")" && pwd)/$(basename "$c")
	case "$c" in "$SRCDIR"/*) ;; *)
		! hidden_in_guest "$c" || die "test case $c is under /tmp, /run or /var/tmp, which the guest cannot see" ;;
	esac
	cases[$i]=$c
done

# The guest's root: the host's / (amd64), or a Debian userland of the
# kernel's architecture (userland.sh, cached). Then the source tree and the
# kernel's module tree (the per-run tree below links into it) are not in
# that root: they come as shares of their own (dmpsrc, and
# testbed.share=TAG:PATH for the modules), and cases must be in the tree.
groot=/ shares=()
if [ "$arch" != amd64 ]; then
	groot=$("$SRCDIR/scripts/testbed/userland.sh" "$arch")/root ||
		die "no $arch userland for the guest (scripts/testbed/userland.sh $arch)"
	src_share=1
	shares=("dmpkmods:$moddir")
	for c in "${cases[@]}"; do
		case "$c" in "$SRCDIR"/*) ;; *) die "test case $c is outside $SRCDIR, which an $arch guest cannot see" ;; esac
	done
fi

# --- the boot files (cached in $DMP_CACHE/vmrun) ----------------------------
vmcache=$DMP_CACHE/vmrun
mkdir -p "$vmcache"

# The ELF vmlinux inside the image, booted directly through its PVH entry:
# this skips the kernel's own decompression (seconds under TCG). Falls back
# to the image itself if there is none (DMP_VMRUN_PVH=0 forces that).
boot_image=$vmlinuz
if [ "${DMP_VMRUN_PVH:-1}" != 0 ] && [ "$arch" = amd64 ]; then
	vkey=$( { echo "$vmlinuz"; ls -lL "$vmlinuz"; } | sha256sum | cut -c1-16)
	if [ -f "$vmcache/vmlinux-$kver-$vkey" ]; then
		boot_image=$vmcache/vmlinux-$kver-$vkey
	elif [ ! -f "$vmcache/vmlinux-$kver-$vkey.none" ]; then
		rm -f "$vmcache/vmlinux-$kver-"*
		if "$SRCDIR/scripts/testbed/pvh-vmlinux.py" "$vmlinuz" "$vmcache/vmlinux-$kver-$vkey"; then
			boot_image=$vmcache/vmlinux-$kver-$vkey
		else
			: >"$vmcache/vmlinux-$kver-$vkey.none"
		fi
	fi
fi

# The initramfs: modules in load order, deduplicated; builtins are skipped.
boot_mods=$(modprobe -d "$modroot" -S "$kver" -a --show-depends virtio_pci 9pnet_virtio 9p overlay |
	awk '$1 == "insmod" && !seen[$2]++ { print $2 }')
busybox=$groot/bin/busybox # static: busybox-static of the guest's arch
key=$( {
	echo "$kver $arch"
	cat "$SRCDIR/scripts/testbed/guest-init"
	ls -lL "$busybox"
	for m in $boot_mods; do ls -lL "$m"; done
} | sha256sum | cut -c1-16)
initrd=$vmcache/initramfs-$kver-$key.cpio.gz
if [ ! -f "$initrd" ]; then
	say "vmrun: building the initramfs for $kver"
	rm -f "$vmcache/initramfs-$kver-"*
	stage=$(mktemp -d)
	trap 'rm -rf "$stage"' EXIT
	mkdir -p "$stage/bin" "$stage/mod"
	cp "$busybox" "$stage/bin/busybox"
	ln -s busybox "$stage/bin/sh"
	cp "$SRCDIR/scripts/testbed/guest-init" "$stage/init"
	chmod 755 "$stage/init"
	: >"$stage/modules.list"
	for m in $boot_mods; do
		b=$(basename "$m")
		case "$m" in
		*.ko.xz) b=${b%.xz}; xz -dc "$m" >"$stage/mod/$b" ;;
		*.ko.zst) b=${b%.zst}; zstd -qdc "$m" >"$stage/mod/$b" ;;
		*.ko.gz) b=${b%.gz}; gzip -dc "$m" >"$stage/mod/$b" ;;
		*) cp "$m" "$stage/mod/$b" ;;
		esac
		echo "$b" >>"$stage/modules.list"
	done
	(cd "$stage" && find . | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$initrd.tmp.$$"
	mv "$initrd.tmp.$$" "$initrd"
	rm -rf "$stage"
	trap - EXIT
fi

# --- the results directory --------------------------------------------------
mkdir -p "$out"
out=$(cd "$out" && pwd)
# Only what an earlier run left here goes: results of the selected cases and
# the run-wide files, so that nothing stale can pass for a result.
rm -rf "$out/.job"
rm -f "$out/console.log" "$out/dmesg.txt" "$out/progress.log" "$out/DONE" "$out"/cmd.*
ids=()
for c in "${cases[@]}"; do
	id=$(basename "$(dirname "$c")")-$(basename "$c")
	ids+=("$id")
	rm -f "$out/$id".*
done
mkdir -p "$out/.job"
cp "$SRCDIR/scripts/testbed/guest-run.sh" "$out/.job/guest-run.sh"

# The module tree the guest sees at /lib/modules/$kver: a per-run tree in
# .job/modules with absolute symlinks to everything of the kernel's own tree
# (the guest sees the host's paths), dmp.ko as updates/dmp.ko, and the
# modules.* indexes that depmod makes for the two. The kernel cache itself is
# never written, so runs on one kernel never get in each other's way.
jobroot=$out/.job/modules
jobmods=$jobroot/lib/modules/$kver
mkdir -p "$jobmods"
for e in "$moddir"/*; do
	b=${e##*/}
	case "$b" in
	modules.order | modules.builtin | modules.builtin.modinfo) cp "$e" "$jobmods/" ;;
	modules.* | updates) ;;
	*) ln -s "$e" "$jobmods/$b" ;;
	esac
done
if [ "$ko" = none ]; then
	say "vmrun: no dmp.ko installed"
elif [ -f "$ko" ]; then
	mkdir -p "$jobmods/updates"
	cp "$ko" "$jobmods/updates/dmp.ko"
else
	echo "vmrun: warning: $ko does not exist; booting without dmp.ko" >&2
fi
depmod -b "$jobroot" "$kver"
printf '%s\n' "${cases[@]}" >"$out/.job/cases"
if [ -n "$cmd" ]; then
	printf '%s\n' "$cmd" >"$out/.job/cmd"
	[ -z "$cmd_timeout" ] || echo "$cmd_timeout" >"$out/.job/cmd_timeout"
	ids+=(cmd)
fi

if [ -z "$timeout" ]; then
	timeout=90
	for c in "${cases[@]}"; do
		t=$(sed -n '1,30{s/^# TIMEOUT:[[:space:]]*//p;T;q}' "$c")
		timeout=$((timeout + ${t:-120} * tmo_scale + 15))
	done
	[ -z "$cmd" ] || timeout=$((timeout + ${cmd_timeout:-3510}))
	# kmemleak's baseline and its scan after the cases (guest-run.sh)
	[ "$kmemleak" = 0 ] || timeout=$((timeout + 900))
fi

# --- boot -----------------------------------------------------------------
console=ttyS0
[ "$arch" != arm64 ] || console=ttyAMA0
kargs="console=$console panic=-1 printk.devkmsg=on log_buf_len=8M"
kargs+=" random.trust_cpu=on mitigations=off testbed.src=$SRCDIR testbed.out=$out"
kargs+=" testbed.tmo_scale=$tmo_scale testbed.keep_drivers=$keep_drivers"
kargs+=" testbed.src_share=$src_share"
# DEBUG_KOBJECT_RELEASE logs every kobject release at KERN_INFO (some 20 lines
# per dm device): not on the serial console, which is slow under TCG (the
# kernel log keeps them; the runner scans dmesg, not the console).
[ "$keep_drivers" = 0 ] || kargs+=" loglevel=5"
[ ${#append[@]} -eq 0 ] || kargs+=" ${append[*]}"
# what the cases ask of the kernel command line (HACKING.md, "Test cases")
for c in "${cases[@]}"; do
	t=$(sed -n '1,30{s/^# KERNEL_ARGS:[[:space:]]*//p;T;q}' "$c")
	[[ -z $t || " $kargs " == *" $t "* ]] || kargs+=" $t"
done
share=security_model=none,multidevs=remap
# How the guest leaves QEMU with a verdict: isa-debug-exit on x86 (QEMU
# exits 3 after guest-run.sh); arm64 has none: a reboot, which -no-reboot
# turns into exit 0, as after a panic: only the exit file that guest-run.sh
# writes first tells them apart.
case "$arch" in
amd64) qemu=(qemu-system-x86_64 -machine pc,accel=tcg -cpu max) ;;
i386) qemu=(qemu-system-i386 -machine pc,accel=tcg -cpu max) ;;
arm64) qemu=(qemu-system-aarch64 -machine virt,accel=tcg -cpu max,pauth-impdef=on) ;;
esac
[ "$arch" = arm64 ] || qemu_opts=(-device isa-debug-exit,iobase=0xf4,iosize=0x04 "${qemu_opts[@]}")
for s in "${shares[@]}"; do
	kargs+=" testbed.share=$s"
	qemu_opts+=(-virtfs "local,path=${s#*:},mount_tag=${s%%:*},readonly=on,$share")
done
qemu+=(-smp "$cpus" -m "$mem"
	-nodefaults -no-user-config -display none -monitor none -no-reboot
	-serial "file:$out/console.log"
	-kernel "$boot_image" -initrd "$initrd" -append "$kargs"
	-virtfs "local,path=$groot,mount_tag=hostroot,readonly=on,$share"
	-virtfs "local,path=$jobmods,mount_tag=dmpmods,readonly=on,$share"
	-virtfs "local,path=$out,mount_tag=dmpout,$share"
	-virtfs "local,path=$SRCDIR,mount_tag=dmpsrc,readonly=on,$share"
	"${qemu_opts[@]}")
printf '%q ' "${qemu[@]}" >"$out/.job/qemu-cmdline"

say "vmrun: booting $kver ($arch, $cpus vCPUs, $mem, timeout ${timeout}s), results in $out"
start=$SECONDS
"${qemu[@]}" </dev/null >"$out/qemu.log" 2>&1 &
qpid=$!
trap 'kill $qpid 2>/dev/null || true' EXIT INT TERM

# Show what the guest reports as it comes: progress.log for the cases, the
# output of --cmd verbatim.
shown_progress=0 shown_cmd=0
show_new() {
	local f=$1 var=$2 n line
	n=${!var}
	[ -f "$f" ] || return 0
	while IFS= read -r line; do
		n=$((n + 1))
		if [ "$f" = "$out/progress.log" ]; then
			set -- $line
			say "  $(printf '%-16s %-5s %6ss' "$1" "$2" "${3:-}")"
		else
			printf '%s\n' "$line"
		fi
	done < <(tail -n "+$((n + 1))" "$f")
	printf -v "$var" %s "$n"
}

timed_out=
while kill -0 "$qpid" 2>/dev/null; do
	sleep 1
	show_new "$out/progress.log" shown_progress
	show_new "$out/cmd.out" shown_cmd
	if [ $((SECONDS - start)) -ge "$timeout" ]; then
		timed_out=1
		kill "$qpid" 2>/dev/null || true
		sleep 2
		kill -9 "$qpid" 2>/dev/null || true
		break
	fi
done
qrc=0
wait "$qpid" || qrc=$?
trap - EXIT INT TERM
show_new "$out/progress.log" shown_progress
show_new "$out/cmd.out" shown_cmd
elapsed=$((SECONDS - start))

# --- verdict --------------------------------------------------------------
# A panic exits QEMU with 0 too: only DONE + exit status 3 is a finished run
# (on arm64: DONE + exit status 0 + guest-run.sh's exit file saying 1).
problems=()
[ -z "$timed_out" ] || problems+=("timed out after ${timeout}s: QEMU killed")
if grep -q 'Kernel panic' "$out/console.log" 2>/dev/null; then
	problems+=("kernel panic: $(grep -m1 'Kernel panic' "$out/console.log" | tr -d '\r')")
fi
grep -q 'guest-init: FATAL\|dmp-guest: FATAL' "$out/console.log" 2>/dev/null &&
	problems+=("$(grep -m1 'FATAL' "$out/console.log" | tr -d '\r')")
[ -f "$out/DONE" ] || problems+=("the guest did not finish (no DONE)")
if [ -n "$timed_out" ]; then
	:
elif [ "$arch" = arm64 ]; then
	[ "$qrc" -eq 0 ] && [ "$(cat "$out/.job/exit" 2>/dev/null)" = 1 ] ||
		problems+=("QEMU exit status $qrc, exit file '$(cat "$out/.job/exit" 2>/dev/null)' (0 and 1 expected)")
else
	[ "$qrc" -eq 3 ] || problems+=("QEMU exit status $qrc (3 expected)")
fi
echo "$elapsed" >"$out/.job/elapsed"

failed=0
for id in "${ids[@]}"; do
	if [ ! -f "$out/$id.rc" ] || [ ! -f "$out/$id.result" ]; then
		failed=1
		say "vmrun: $id has no result (the guest died or the run timed out)"
	elif [ "$(cat "$out/$id.result")" = fail ]; then
		failed=1
		if [ -z "$quiet" ]; then
			echo "vmrun: $id failed:"
			sed 's/^/    /' "$out/$id.why"
		fi
	fi
done
if [ ${#problems[@]} -gt 0 ]; then
	printf '%s\n' "${problems[@]}" >"$out/.job/problems"
	for p in "${problems[@]}"; do echo "vmrun: FAILURE: $p" >&2; done
	echo "vmrun: last console lines ($out/console.log):" >&2
	tail -n 25 "$out/console.log" 2>/dev/null | tr -d '\r' | sed 's/^/    /' >&2
	exit 1
fi
say "vmrun: guest finished in ${elapsed}s"
exit $failed
