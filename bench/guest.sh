#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/guest.sh - the benchmark's side inside the guest. bench/run.sh boots a
# kernel with scripts/testbed/vmrun.sh and runs this as its --cmd:
#
#   guest.sh --res FILE [--ko PATH] [--tag NAME] MODE...
#
# MODE (results are appended to FILE as tab-separated lines, see emit()):
#   icount    cost per I/O: fio 4k randread/randwrite, libaio, iodepth 1 and
#             32, on null_blk and brd, for raw, linear and dmp; rounds in
#             rotating order (BENCH_ROUNDS, default 3; BENCH_RUNTIME per job,
#             default 300ms). Meant for 1 vCPU and -icount shift=0,sleep=off.
#   multi     the same devices with numjobs=$NCPUS, iodepth 32, randread and
#             randwrite, BENCH_MULTI_ROUNDS (default 9) rotating rounds of
#             BENCH_MULTI_RUNTIME (default 1s). Meant for 2 vCPUs, no icount.
#   sysfs     fio randread iodepth 1 (BENCH_SYSFS_RUNTIME, default 5s) on
#             the null_blk dmp (and, as a control, linear) device, with and
#             without a reader that reads every file of the device's stat
#             directory and of all_devs (with cat, or with bash builtins),
#             then waits BENCH_SYSFS_PERIOD (default 1) seconds, in a loop.
#   create    create 1000 (BENCH_NDEVS) linear / dmp devices over null_blk in
#             batches of 100 with "dmsetup create --concise", then remove them
#             in batches of 100; order linear, dmp, dmp, linear.
#   hist      like icount, but only dmp against linear, with dmp's histograms
#             on (reported as the variant "hist-on").
#   variants  like icount, but only dmp against linear, for every dmp.ko
#             given with --ko (repeatable; loaded with insmod), 1 round each
#             (BENCH_ROUNDS).
#   variants-multi
#             like multi, but only dmp against linear, for every --ko.
#
# --ko PATH loads that module with insmod instead of "modprobe dmp".
# Everything it creates is removed at the end (HACKING.md: a case must clean up).
set -uo pipefail

export DM_DISABLE_UDEV=1
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

RES= TAGNAME=base
KOS=()
MODES=()
while [ $# -gt 0 ]; do
	case "$1" in
	--res) RES=$2; shift ;;
	--ko) KOS+=("$2"); shift ;;
	--tag) TAGNAME=$2; shift ;;
	*) MODES+=("$1") ;;
	esac
	shift
done
[ -n "$RES" ] || { echo "guest.sh: --res FILE missing" >&2; exit 2; }
KVER=$(uname -r)
NCPUS=$(nproc)
ROUNDS=${BENCH_ROUNDS:-3}
RUNTIME=${BENCH_RUNTIME:-300ms}
WORK=$(mktemp -d /tmp/bench.XXXXXX)
NB=/dev/nullb0
RAM=/dev/ram0
RAM_KB=${BENCH_BRD_KB:-262144}

log() { echo "bench[$(cut -d' ' -f1 /proc/uptime)]: $*"; }

# emit MODE FIELDS...: one result line
emit() {
	local IFS=$'\t'
	echo "$KVER	$*" >>"$RES"
}

# null_blk: queue_mode=2 irqmode=0, not memory-backed; only parameters this
# kernel's null_blk knows (modinfo) are given, and they are logged.
load_nullb() {
	local have p args=()
	have=$(modinfo -F parm null_blk | cut -d: -f1)
	for p in queue_mode=2 irqmode=0 gb=4 bs=4096 nr_devices=1 \
		submit_queues="$NCPUS" memory_backed=0 hw_queue_depth=64; do
		if grep -qx "${p%%=*}" <<<"$have"; then
			args+=("$p")
		else
			log "null_blk on $KVER has no parameter ${p%%=*}"
		fi
	done
	modprobe null_blk "${args[@]}" || { log "modprobe null_blk failed"; return 1; }
	log "null_blk ${args[*]}"
	emit info null_blk "${args[*]}"
	echo none >/sys/block/nullb0/queue/scheduler 2>/dev/null
	emit info nullb0_scheduler "$(cat /sys/block/nullb0/queue/scheduler)"
}

# brd, filled once so that writes never allocate pages during a measurement
load_brd() {
	modprobe brd rd_nr=1 rd_size="$RAM_KB" max_part=0 || { log "modprobe brd failed"; return 1; }
	dd if=/dev/zero of=$RAM bs=1M count=$((RAM_KB / 1024)) oflag=direct status=none
	emit info brd "rd_nr=1 rd_size=$RAM_KB (pre-filled)"
}

load_dmp() { # load_dmp [KO]
	if [ -n "${1:-}" ]; then
		insmod "$1" || return 1
	else
		modprobe dmp || return 1
	fi
}

# make_dm NAME TARGET DEV
make_dm() {
	local sz
	sz=$(blockdev --getsz "$3")
	dmsetup create "$1" --table "0 $sz $2 $3 0" || { log "dmsetup create $1 failed"; return 1; }
}

setup_devs() { # setup_devs [KO]
	load_nullb && load_brd && load_dmp "${1:-}" || return 1
	make_dm nb_linear linear $NB && make_dm nb_dmp dmp $NB &&
		make_dm ram_linear linear $RAM && make_dm ram_dmp dmp $RAM
}

teardown() {
	dmsetup remove_all >/dev/null 2>&1
	[ -d /sys/module/dmp ] && rmmod dmp
	[ -d /sys/module/brd ] && rmmod brd
	[ -d /sys/module/null_blk ] && rmmod null_blk
	return 0
}

devpath() { # devpath BACKEND KIND
	case "$2" in
	raw) [ "$1" = nb ] && echo $NB || echo $RAM ;;
	*) echo "/dev/mapper/$1_$2" ;;
	esac
}

# rotate N WORDS...: the words rotated left by N
rotate() {
	local n=$1; shift
	local a=("$@") i k=${#a[@]}
	for ((i = 0; i < k; i++)); do printf '%s ' "${a[$(((i + n) % k))]}"; done
}

# Job file sections are named MODE:BACKEND:RW:QD:NJ:KIND:ROUND; run_fio runs
# one job file (every section stonewalled, one group each) and emits a line
# per section: mode backend rw iodepth numjobs kind round iops runtime_ms ios.
FIO_GLOBAL="[global]
ioengine=libaio
direct=1
bs=4k
time_based=1
norandommap=1
randrepeat=1
group_reporting=1
"
section() { # section MODE BACKEND RW QD NJ KIND ROUND RUNTIME
	cat <<EOF
[$1:$2:$3:$4:$5:$6:$7]
filename=$(devpath "$2" "$6")
rw=$3
iodepth=$4
numjobs=$5
runtime=$8
stonewall
new_group
EOF
}

run_fio() { # run_fio JOBFILE
	local json=$WORK/fio.json
	fio --output-format=json --output="$json" "$1" >/dev/null 2>"$WORK/fio.err" ||
		{ log "fio failed: $(tail -n 3 "$WORK/fio.err")"; return 1; }
	python3 - "$json" <<'EOF' | while IFS= read -r line; do emit $line; done
import json, sys
d = json.load(open(sys.argv[1]))
for j in d["jobs"]:
    mode, backend, rw, qd, nj, kind, rnd = j["jobname"].split(":")
    s = j["read"] if "read" in rw else j["write"]
    ios, rt = s["total_ios"], s["runtime"]
    iops = ios * 1000.0 / rt if rt else 0.0
    print(mode, backend, rw, qd, nj, kind, rnd, "%.1f" % iops, rt, ios)
EOF
}

mode_icount() { # mode_icount [MODE-NAME KINDS...]
	local name=${1:-icount} kinds=(raw linear dmp) r b jf rw qd k
	[ $# -gt 1 ] && kinds=("${@:2}")
	for ((r = 1; r <= ROUNDS; r++)); do
		for b in nb ram; do
			jf=$WORK/job.fio
			echo "$FIO_GLOBAL" >"$jf"
			for rw in randread randwrite; do
				for qd in 1 32; do
					for k in $(rotate $((r - 1)) "${kinds[@]}"); do
						section "$name" $b $rw $qd 1 "$k" $r "$RUNTIME" >>"$jf"
					done
				done
			done
			log "$name round $r $b"
			run_fio "$jf"
		done
	done
}

mode_multi() { # mode_multi NAME KIND...
	local name=$1; shift
	local kinds=("$@")
	local rounds=${BENCH_MULTI_ROUNDS:-9} rt=${BENCH_MULTI_RUNTIME:-1s} r b jf rw k
	for ((r = 1; r <= rounds; r++)); do
		jf=$WORK/job.fio
		echo "$FIO_GLOBAL" >"$jf"
		for b in nb ram; do
			for rw in randread randwrite; do
				for k in $(rotate $((r - 1)) "${kinds[@]}"); do
					section "$name" $b $rw 32 "$NCPUS" "$k" $r "$rt" >>"$jf"
				done
			done
		done
		log "$name round $r"
		run_fio "$jf"
	done
}

# The sysfs reader: every readable file of the device's directory and of
# all_devs, then a pause; it counts its passes in $WORK/passes. "cat" starts
# a process per file (what a shell script does); "builtin" reads the same
# files with bash's read builtin, and pauses with read -t on a FIFO nobody
# writes instead of starting sleep(1), so that a pass starts no process at
# all and what it costs is the system calls and dmp's show functions.
sysfs_reader() { # sysfs_reader HOW PERIOD FILES...
	local how=$1 period=$2; shift 2
	local n=0 f l fd
	rm -f "$WORK/never"
	mkfifo "$WORK/never"
	exec {fd}<>"$WORK/never"
	while :; do
		if [ "$how" = cat ]; then
			for f in "$@"; do cat "$f" >/dev/null; done
		else
			for f in "$@"; do while read -r l; do :; done <"$f"; done
		fi
		n=$((n + 1))
		echo $n >"$WORK/passes"
		read -r -t "$period" -u "$fd" l
	done
}

mode_sysfs() {
	local period=${BENCH_SYSFS_PERIOD:-1} rt=${BENCH_SYSFS_RUNTIME:-5s}
	local kname dir files=() f r k reader pid p0 p1 jf
	local readers=${BENCH_SYSFS_READERS:-cat builtin} rounds=${BENCH_SYSFS_ROUNDS:-1}
	kname=$(basename "$(readlink -f /dev/mapper/nb_dmp)")
	dir=/sys/module/dmp/stat
	for f in "$dir/$kname"/* "$dir"/all_devs/*; do
		[ -f "$f" ] || continue
		# only the readable ones (reset is write-only)
		[ $((0$(stat -c %a "$f") & 0444)) -ne 0 ] && files+=("$f")
	done
	emit info sysfs_files "${#files[@]} files, period ${period}s"
	log "sysfs reader: ${#files[@]} files: ${files[*]}"
	for ((r = 1; r <= rounds; r++)); do
		for k in $(rotate $((r - 1)) dmp linear); do
			for reader in none $readers; do
				jf=$WORK/job.fio
				echo "$FIO_GLOBAL" >"$jf"
				section "sysfs-$reader" nb randread 1 1 "$k" $r "$rt" >>"$jf"
				pid=
				echo 0 >"$WORK/passes"
				if [ $reader != none ]; then
					sysfs_reader $reader "$period" "${files[@]}" &
					pid=$!
				fi
				p0=$(cat "$WORK/passes")
				run_fio "$jf"
				p1=$(cat "$WORK/passes")
				[ -z "$pid" ] || { kill "$pid"; wait "$pid" 2>/dev/null; }
				emit info sysfs_passes "$k $reader round $r: $((p1 - p0)) passes during fio"
			done
		done
	done
}

# busy_ticks: CPU time (all CPUs, USER_HZ ticks) spent not idle since boot.
# In icount mode the elapsed guest time also holds idle stretches whose
# length depends on the host (the clock warps while the guest waits for 9p),
# so the CPU time is the repeatable measure.
busy_ticks() {
	local cpu u n s i w irq sirq st rest
	read -r cpu u n s i w irq sirq st rest </proc/stat
	echo $((u + n + s + irq + sirq + st))
}

mode_create() {
	local ndevs=${BENCH_NDEVS:-1000} batch=100 kind i j b spec names t0 t1 t2 tb order c0 c1 c2
	order=${BENCH_CREATE_ORDER:-linear dmp dmp linear}
	local round=0
	emit info create_n "$ndevs"
	for kind in $order; do
		round=$((round + 1))
		c0=$(busy_ticks)
		t0=$EPOCHREALTIME
		for ((b = 0; b < ndevs; b += batch)); do
			tb=$EPOCHREALTIME
			spec=
			for ((i = b; i < b + batch && i < ndevs; i++)); do
				spec+="c$i,,,rw,0 8 $kind $NB $((i * 8));"
			done
			dmsetup create --concise "${spec%;}" ||
				{ log "create --concise failed at batch $b"; dmsetup remove_all; return 1; }
			emit create-batch "$kind" "$round" "$b" "$(awk -v a="$tb" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f", b - a }')"
		done
		t1=$EPOCHREALTIME
		c1=$(busy_ticks)
		for ((b = 0; b < ndevs; b += batch)); do
			names=()
			for ((i = b; i < b + batch && i < ndevs; i++)); do names+=("c$i"); done
			dmsetup remove "${names[@]}" || { log "remove failed at batch $b"; dmsetup remove_all; return 1; }
		done
		t2=$EPOCHREALTIME
		c2=$(busy_ticks)
		emit create "$kind" "$round" "$ndevs" \
			"$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')" \
			"$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.6f", b - a }')" \
			"$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", (b - a) / 100 }')" \
			"$(awk -v a="$c1" -v b="$c2" 'BEGIN { printf "%.2f", (b - a) / 100 }')"
		log "create/remove $ndevs $kind done"
	done
}

mode_variants() { # mode_variants variants|variants-multi
	local ko name
	for ko in "${KOS[@]}"; do
		name=$(basename "$(dirname "$ko")")
		load_dmp "$ko" || { log "insmod $ko failed"; continue; }
		make_dm nb_dmp dmp $NB && make_dm ram_dmp dmp $RAM || { teardown; return 1; }
		if [ "$1" = variants-multi ]; then
			mode_multi "vmulti-$name" linear dmp
		else
			mode_icount "var-$name" linear dmp
		fi
		dmsetup remove nb_dmp ram_dmp
		rmmod dmp
	done
}

main() {
	local m ko=
	emit info kernel "$(uname -r) $(uname -v)"
	emit info cpus "$NCPUS"
	emit info cmdline "$(cat /proc/cmdline)"
	emit info fio "$(fio --version)"
	emit info dmsetup "$(dmsetup --version | tr '\n' ' ')"
	case "${MODES[*]}" in
	variants | variants-multi)
		load_nullb && load_brd && make_dm nb_linear linear $NB && make_dm ram_linear linear $RAM ||
			{ teardown; exit 1; }
		mode_variants "${MODES[*]}"
		teardown
		exit 0
		;;
	esac
	[ ${#KOS[@]} -gt 0 ] && ko=${KOS[0]}
	setup_devs "$ko" || { teardown; exit 1; }
	for m in "${MODES[@]}"; do
		case $m in
		icount) mode_icount icount ;;
		hist)
			dmsetup message nb_dmp 0 histograms on && dmsetup message ram_dmp 0 histograms on ||
				{ log "cannot switch the histograms on"; return 1; }
			mode_icount var-hist-on linear dmp
			dmsetup message nb_dmp 0 histograms off && dmsetup message ram_dmp 0 histograms off
			;;
		multi) mode_multi multi raw linear dmp ;;
		sysfs) mode_sysfs ;;
		create) mode_create ;;
		*) log "unknown mode $m" ;;
		esac
	done
	teardown
	log done
}

main; exit $?
