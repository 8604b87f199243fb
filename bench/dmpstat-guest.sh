#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/dmpstat-guest.sh: the guest part of bench/dmpstat.sh. With 1, 100
# and 1000 dmp devices (over one dm-zero device), the CPU time of one report
# of `dmpstat` (and `dmpstat -j`) next to `iostat -x -d` over the same dm
# devices: each command run REPS times, the guest's non-idle CPU ticks
# (/proc/stat) over the runs divided by REPS. Meant for 1 vCPU and -icount
# shift=0,sleep=off: ticks are then instructions, repeatable, and 9p waits
# (idle) do not count. Prints "N TOOL REPS MS_PER_RUN" lines.
set -euo pipefail
export DM_DISABLE_UDEV=1
D=$PWD/dmpstat/dmpstat

busy_ticks() {
	local u n s irq sirq st
	read -r _ u n s _ _ irq sirq st _ </proc/stat
	echo $((u + n + s + irq + sirq + st))
}

# measure N NAME REPS COMMAND...: one warm-up run, then REPS runs
measure() {
	local n=$1 name=$2 reps=$3 i c0 c1
	shift 3
	"$@" >/dev/null
	c0=$(busy_ticks)
	for ((i = 0; i < reps; i++)); do "$@" >/dev/null; done
	c1=$(busy_ticks)
	printf '%s %s %s %s\n' "$n" "$name" "$reps" \
		"$(awk -v a="$c0" -v b="$c1" -v r="$reps" 'BEGIN { printf "%.3f", (b - a) * 10 / r }')"
}

modprobe dmp
dmsetup create bz --table "0 $((1000 * 8)) zero"
have=0
for n in 1 100 1000; do
	spec=
	for ((i = have; i < n; i++)); do
		spec+="b$i,,,rw,0 8 dmp /dev/mapper/bz $((i * 8));"
		if (((i + 1) % 100 == 0)) || ((i + 1 == n)); then
			dmsetup create --concise "${spec%;}"
			spec=
		fi
	done
	have=$n
	mapfile -t dms < <(cd /sys/module/dmp/stat && ls -d dm-*)
	[ ${#dms[@]} -eq "$n" ] || { echo "expected $n devices, have ${#dms[@]}" >&2; exit 1; }
	reps=$((n == 1 ? 100 : n == 100 ? 40 : 10))
	for _ in 1 2; do
		measure "$n" dmpstat "$reps" "$D"
		measure "$n" iostat "$reps" iostat -x -d "${dms[@]}"
		measure "$n" dmpstat-j "$reps" "$D" -j
	done
done
for ((i = 0; i < have; i += 100)); do
	names=()
	for ((j = i; j < i + 100 && j < have; j++)); do names+=("b$j"); done
	dmsetup remove "${names[@]}"
done
dmsetup remove bz
rmmod dmp
