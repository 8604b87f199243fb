#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The test bed's driver inside the guest. guest-init runs it (chrooted into
# the overlay over the host's /) as the last step of the boot; vmrun.sh on
# the host prepared the job in the results directory:
#
#   $OUT/.job/cases   absolute paths of the test cases, one a line, in order
#   $OUT/.job/cmd     optional shell command (vmrun.sh --cmd), run after them
#
# For each case it writes, into $OUT (ID is <area>-<NNN>):
#   ID.out ID.err     the case's stdout and stderr
#   ID.rc             its exit status (124/137: killed by the per-case timeout)
#   ID.dmesg          the kernel log lines written while it ran
#   ID.hits           those of them that fail the case (BUG:, WARNING:, ...)
#   ID.diff           stdout against the golden tests/<area>/<NNN>.out, if any
#   ID.why            the reasons for a failure or a skip
#   ID.secs           its wall time in seconds
#   ID.result         pass, fail or skip: written last
# and progress.log (one line a case), dmesg.txt (the whole kernel log) and
# DONE at the end, before it leaves QEMU through isa-debug-exit (QEMU exits 3;
# on arm64 a reboot that -no-reboot turns into exit 0, and .job/exit says 1).
#
# The --cmd command gets the same treatment under the ID "cmd", with stdout
# and stderr together in cmd.out (vmrun.sh streams it to the terminal).

set -uo pipefail # not -e: a failing check must not stop the run

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LANG=C.UTF-8 LC_ALL=C.UTF-8
export DM_DISABLE_UDEV=1

SRCDIR= OUT= TMO_SCALE=1 KEEP_DRIVERS=0
for arg in $(</proc/cmdline); do
	case "$arg" in
	testbed.src=*) SRCDIR=${arg#testbed.src=} ;;
	testbed.out=*) OUT=${arg#testbed.out=} ;;
	# vmrun.sh, from the kernel's config: case timeouts x N (KASAN)
	testbed.tmo_scale=[1-9]) TMO_SCALE=${arg#testbed.tmo_scale=} ;;
	# 1: never unload a block driver (DEBUG_KOBJECT_RELEASE, HACKING.md)
	testbed.keep_drivers=[01]) KEEP_DRIVERS=${arg#testbed.keep_drivers=} ;;
	esac
done
KVER=$(uname -r)
NCPUS=$(nproc)
export SRCDIR KVER NCPUS

# Patterns that fail a case when they show up in the kernel log during it.
KLOG_BAD='BUG:|WARNING:|Oops|Call Trace|circular locking|possible recursive locking|INFO: task|KASAN|UBSAN|kmemleak|general protection|list_del corruption|refcount_t'

console() { echo "dmp-guest: $*" >/dev/console; }

leave() { # leave QEMU: isa-debug-exit with value $1 -> exit status ($1 << 1) | 1
	# arm64 has no isa-debug-exit: vmrun.sh reads the value from here
	echo "$1" >"$OUT/.job/exit" 2>/dev/null
	sync
	if [ -e /dev/port ]; then
		printf "\\$(printf %03o "$1")" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
	fi
	echo b >/proc/sysrq-trigger # -no-reboot turns the reboot into an exit
	sleep 10
}

fatal() {
	console "FATAL: $*"
	[ -d "$OUT" ] && echo "FATAL: $*" >>"$OUT/progress.log"
	leave 2
}

setup() {
	# dm-mod now, so that dmsetup works from the first case on and
	# /dev/mapper/control exists (devtmpfs creates it).
	modprobe dm_mod || fatal "modprobe dm_mod failed"
	hostname dmp-guest 2>/dev/null
	: >"$OUT/progress.log" || fatal "the results directory $OUT is not writable"
	# On a kernel with kmemleak (the debug kernel): what the boot and the
	# set-up allocated is never reported; kmemleak_check scans after the cases.
	KMEMLEAK=0
	if [ -e /sys/kernel/debug/kmemleak ] || { mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null &&
		[ -e /sys/kernel/debug/kmemleak ]; }; then
		console "kmemleak: baseline"
		"$SRCDIR/scripts/testbed/kmemleak-check.sh" baseline >"$OUT/kmemleak-baseline.log" 2>&1 ||
			fatal "kmemleak baseline failed: $(tail -n 3 "$OUT/kmemleak-baseline.log")"
		KMEMLEAK=1
	fi
}

# Under TCG every exec costs a lot (tens to hundreds of ms, binaries come
# over 9p): the per-case work below sticks to bash builtins where it can.

header() { # header NAME FILE: the value of a '# NAME: value' line in the first 30
	local line n=0
	while IFS= read -r line && [ $((n += 1)) -le 30 ]; do
		if [[ $line =~ ^#\ $1:[[:space:]]*(.*)$ ]]; then
			echo "${BASH_REMATCH[1]}"
			return
		fi
	done <"$2"
}

# scan_klog ID MARK: the kernel log after the marker line MARK into ID.dmesg
# (all of it if the marker was overwritten), and the lines that match
# $KLOG_BAD into ID.hits. For ID kmemleak (the scan after the cases) the
# kernel's own "N new suspected memory leaks" line of a scan is no hit: a
# suspect of the first scan that the second clears is not a leak, and
# kmemleak-check.sh's exit status says whether any is left.
scan_klog() {
	local ok='^$'
	[ "$1" != kmemleak ] || ok='kmemleak: [0-9]+ new suspected memory leaks'
	dmesg | awk -v m="$2" -v bad="$KLOG_BAD" -v ok="$ok" -v logf="$OUT/$1.dmesg" -v hitf="$OUT/$1.hits" '
		{ line[NR] = $0 } index($0, m) { start = NR }
		END {
			printf "" >logf; printf "" >hitf
			for (i = start + 1; i <= NR; i++) {
				print line[i] >logf
				if (line[i] ~ bad && line[i] !~ ok) print line[i] >hitf
			}
		}'
}

# after_case ID: the runner's checks after a case, appending reasons to ID.why.
# Returns non-zero if any of them failed.
after_case() {
	local id=$1 why="$OUT/$1.why" bad=0 m
	local dms=(/sys/block/dm-*) loops=(/sys/block/loop*/loop/backing_file)

	if [ -e "${dms[0]}" ]; then
		{ echo "dm devices left behind:"; dmsetup ls 2>&1 | sed 's/^/    /'; } >>"$why"
		dmsetup remove_all --force >/dev/null 2>&1 || dmsetup remove_all >/dev/null 2>&1
		bad=1
	fi
	if [ -e "${loops[0]}" ]; then
		echo "loop devices left behind: ${loops[*]}" >>"$why"
		losetup -D
		bad=1
	fi
	for m in brd null_blk scsi_debug; do
		# brd_load keeps brd loaded for the boot there (tests/lib.sh)
		[ "$KEEP_DRIVERS" = 1 ] && [ "$m" = brd ] && continue
		if [ -d "/sys/module/$m" ]; then
			echo "module $m left loaded" >>"$why"
			# unloading would crash a kernel with DEBUG_KOBJECT_RELEASE
			[ "$KEEP_DRIVERS" = 1 ] || rmmod "$m" 2>/dev/null
			bad=1
		fi
	done
	if [ -d /sys/module/dmp ]; then
		for _ in 1 2 3; do
			rmmod dmp 2>>"$why" && break
			sleep 1
		done
		if [ -d /sys/module/dmp ]; then
			echo "cannot unload dmp (refcnt $(</sys/module/dmp/refcnt))" >>"$why"
			bad=1
		fi
	fi
	if [ -e /sys/module/dmp ]; then
		echo "/sys/module/dmp still exists after rmmod" >>"$why"
		bad=1
	fi
	return $bad
}

# run_one ID TIMEOUT GOLDEN COMMAND...: run one case and judge it
run_one() {
	local id=$1 tmo=$2 golden=$3; shift 3
	local mark="dmp-test: begin $id $RANDOM$RANDOM" tmp rc t0 t1 us result bad=0 v

	: >"$OUT/$id.why"
	console "=== begin $id"
	echo "<5>$mark" >/dev/kmsg
	tmp=/tmp/$id.$RANDOM$RANDOM
	mkdir -m 700 "$tmp"
	t0=$EPOCHREALTIME
	# A fresh environment: only what HACKING.md promises, plus the basics.
	(
		# shellcheck disable=SC2163 # un-export each variable named in $v
		for v in $(compgen -e); do export -n "$v"; done
		export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
		export LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=dumb HOME="$tmp" TMPDIR="$tmp" \
			KVER="$KVER" SRCDIR="$SRCDIR" NCPUS="$NCPUS" DM_DISABLE_UDEV=1 \
			DMP_KEEP_DRIVERS="$KEEP_DRIVERS" DMP_TMO_SCALE="$TMO_SCALE"
		cd "$SRCDIR" || exit 126
		if [ -n "$tmo" ]; then
			exec timeout -k 10 "$tmo" "$@"
		else
			exec "$@"
		fi
	) </dev/null >"$OUT/$id.out" 2>"$OUT/$id.err"
	rc=$?
	t1=$EPOCHREALTIME
	echo "$rc" >"$OUT/$id.rc"
	us=$(( (${t1/./} - ${t0/./}) / 100000 )) # tenths of a second
	echo "$((us / 10)).$((us % 10))" >"$OUT/$id.secs"

	case $rc in
	0) ;;
	77)
		local last=
		while IFS= read -r v; do last=$v; done <"$OUT/$id.err"
		echo "skipped: $last" >>"$OUT/$id.why" ;;
	124 | 137)
		if [ -n "$tmo" ]; then
			echo "timed out after ${tmo}s" >>"$OUT/$id.why"
		else
			echo "exit status $rc" >>"$OUT/$id.why"
		fi
		bad=1 ;;
	*) echo "exit status $rc" >>"$OUT/$id.why"; bad=1 ;;
	esac

	if [ -n "$golden" ] && [ "$rc" != 77 ]; then
		if ! diff -u --label expected --label actual "$golden" "$OUT/$id.out" >"$OUT/$id.diff"; then
			{ echo "stdout differs from ${golden#"$SRCDIR"/}:"; sed -n '1,20s/^/    /p' "$OUT/$id.diff"; } >>"$OUT/$id.why"
			bad=1
		else
			rm -f "$OUT/$id.diff"
		fi
	fi

	after_case "$id" || bad=1
	rm -rf "$tmp"

	scan_klog "$id" "$mark"
	if [ -s "$OUT/$id.hits" ]; then
		{ echo "kernel log during the case:"; sed -n '1,20s/^/    /p' "$OUT/$id.hits"; } >>"$OUT/$id.why"
		bad=1
	fi

	if [ $bad -ne 0 ]; then
		result=fail
	elif [ "$rc" = 77 ]; then
		result=skip
	else
		result=pass
	fi
	echo "$result" >"$OUT/$id.result"
	echo "$id $result $((us / 10)).$((us % 10))" >>"$OUT/progress.log"
	console "=== end $id: $result"
}

# case_id PATH: tests/<area>/<NNN> -> <area>-<NNN>
case_id() {
	local dir=${1%/*}
	echo "${dir##*/}-${1##*/}"
}

main() {
	[ -n "$SRCDIR" ] && [ -n "$OUT" ] || fatal "testbed.src= or testbed.out= missing on the kernel command line"
	setup
	console "ready: kernel $KVER, $NCPUS CPUs, $(cut -d' ' -f1 /proc/uptime)s after boot"

	local c id tmo golden
	if [ -f "$OUT/.job/cases" ]; then
		while IFS= read -r c; do
			[ -n "$c" ] || continue
			id=$(case_id "$c")
			tmo=$(header TIMEOUT "$c")
			golden=
			[ -f "$c.out" ] && golden=$c.out
			if [ ! -x "$c" ]; then
				echo "not an executable file: $c" >"$OUT/$id.why"
				echo 126 >"$OUT/$id.rc"
				echo 0 >"$OUT/$id.secs"
				echo fail >"$OUT/$id.result"
				echo "$id fail 0" >>"$OUT/progress.log"
				continue
			fi
			run_one "$id" "$((${tmo:-120} * TMO_SCALE))" "$golden" "$c"
		done <"$OUT/.job/cases"
	fi

	if [ -f "$OUT/.job/cmd" ]; then
		tmo=$(cat "$OUT/.job/cmd_timeout" 2>/dev/null)
		# stdout and stderr together, so that the terminal shows them in order
		run_one cmd "$tmo" "" bash -c 'exec 2>&1; . "$0"' "$OUT/.job/cmd"
		cat "$OUT/cmd.err" >>"$OUT/cmd.out" 2>/dev/null
	fi

	# kmemleak: every object leaked since the baseline, judged like a case
	# (kmemleak.out has the leaks); check.sh reports it as "kmemleak".
	[ "$KMEMLEAK" = 0 ] ||
		run_one kmemleak 600 "" "$SRCDIR/scripts/testbed/kmemleak-check.sh" check

	dmesg >"$OUT/dmesg.txt"
	echo "$(cut -d' ' -f1 /proc/uptime)" >"$OUT/DONE"
	sync
	console "done"
	leave 1
}

main "$@"
