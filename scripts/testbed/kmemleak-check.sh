#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kmemleak-check.sh - the kmemleak step of a test-bed run on the debug kernel
# (scripts/testbed/debug-kernel.sh). Runs inside the guest, as root.
#
#   kmemleak-check.sh baseline   once, before the first case (after dm_mod is
#                                loaded): what is allocated now (boot, runner
#                                set-up) is never reported afterwards
#   kmemleak-check.sh check      after the cases (dmp unloaded): report every
#                                object leaked since the baseline (or since
#                                the previous check)
#
# The debug kernel has no kmemleak scan thread (DEBUG_KMEMLEAK_AUTO_SCAN off,
# see debug.config): nothing is scanned or reported unless this script asks.
#
# baseline: waits until every object allocated so far is old enough to be
#   reported (kmemleak ignores objects younger than 5 s), scans, and "clear"s:
#   whatever that scan suspects (boot-time false positives and leaks of the
#   stock kernel) is painted grey and never reported again.
# check: waits 6 s (the objects of the last case must be 5 s old), then scans
#   twice: only what is still unreferenced in the second scan is shown, which
#   drops transient false positives (a pointer held only in a register or in
#   flight between lists during one scan). Every suspected leak is printed on
#   stdout, then cleared, so that a later check shows only new ones.
#   Nothing is filtered out: any leak fails, whoever allocated it. A
#   backtrace entry printed as a bare address (0xffffffffc0......) lies in a
#   module unloaded since then, most likely dmp.
#
# Exit status: 0 no leak; 1 leaks (printed); 2 kmemleak unusable (disabled at
# boot or since, e.g. "Memory pool empty"; the kernel's kmemleak lines are
# printed); 77 this kernel has no kmemleak (the stock kernels): skip.
# Progress and diagnostics go to stderr.

set -uo pipefail
export LC_ALL=C

KML=/sys/kernel/debug/kmemleak
MIN_AGE=6 # seconds; kmemleak's MSECS_MIN_AGE is 5000 ms

say() { echo "kmemleak-check: $*" >&2; }

usage() {
	sed -n '6,12s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

# unusable WHY: kmemleak exists but does not work: exit 2 with its log lines.
unusable() {
	say "kmemleak is unusable: $*"
	dmesg 2>/dev/null | grep -i 'kmemleak' | tail -n 20 | sed 's/^/    /' >&2
	exit 2
}

# scan: one synchronous scan (the write returns when the scan is done).
scan() {
	local t0 t1
	t0=$(cut -d' ' -f1 /proc/uptime)
	echo scan 2>/dev/null >"$KML" || unusable "'echo scan > $KML' failed (kmemleak disabled)"
	t1=$(cut -d' ' -f1 /proc/uptime)
	say "scan took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')s"
}

clear_reported() {
	echo clear 2>/dev/null >"$KML" || unusable "'echo clear > $KML' failed"
}

setup() {
	if [ ! -e "$KML" ] && ! mountpoint -q /sys/kernel/debug; then
		mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	fi
	if [ ! -e "$KML" ]; then
		say "no $KML: this kernel has no kmemleak (CONFIG_DEBUG_KMEMLEAK)"
		exit 77
	fi
}

cmd_baseline() {
	local up
	setup
	# Every object allocated up to now must be older than 5 s at the scan.
	up=$(cut -d' ' -f1 /proc/uptime)
	sleep "$MIN_AGE"
	scan
	local n
	n=$(grep -c '^unreferenced object' "$KML")
	clear_reported
	say "baseline at ${up}s uptime: $n object(s) suspected before the cases, ignored from now on"
}

cmd_check() {
	local report n
	setup
	sleep "$MIN_AGE"
	scan
	scan
	report=$(cat "$KML") || unusable "cannot read $KML"
	n=$(grep -c '^unreferenced object' <<<"$report")
	if [ "$n" -eq 0 ]; then
		say "no leak"
		exit 0
	fi
	echo "kmemleak: $n suspected memory leak(s):"
	printf '%s\n' "$report"
	if grep -qE '^ +\[<[0-9a-f]+>\] 0x[0-9a-f]+$' <<<"$report"; then
		echo "(a backtrace entry shown as a bare address is in a module unloaded since: most likely dmp)"
	fi
	clear_reported
	exit 1
}

[ "$(id -u)" = 0 ] || { say "must run as root"; exit 2; }
case "${1:-}" in
baseline) cmd_baseline ;;
check) cmd_check ;;
*) usage ;;
esac
