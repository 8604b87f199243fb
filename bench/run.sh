#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/run.sh - the benchmark (make bench): dmp against dm-linear and the raw
# device, in QEMU/TCG guests booted by scripts/testbed/vmrun.sh. Not part of
# make check. See bench/RESULTS.md for what it measures and the last results.
#
# Environment:
#   KERNELS       kernel tags (default: every tag of the test bed), e.g. "6.1"
#   BENCH_MODES   any of: icount hist sysfs create multi (default: all five)
#                   icount  cost per I/O, 1 vCPU, -icount shift=0,sleep=off
#                   hist    the same, dmp with its histograms on, vs linear
#                   sysfs   cost of a sysfs reader during fio (icount)
#                   create  create/remove 1000 dmp vs linear devices (icount)
#                   multi   2 vCPUs, no icount, numjobs=2, 9 rotating rounds
#   BENCH_OUT     results directory (default $DMP_CACHE/bench/<date>); it may
#                 not be inside the source tree (the guest sees the tree
#                 read-only) nor under /tmp, /run, /var/tmp (tmpfs in the guest)
#   BENCH_KO      a dmp.ko to benchmark instead of build/TAG/dmp.ko (one kernel)
#   BENCH_*       every other BENCH_ variable is passed to bench/guest.sh
#                 (BENCH_ROUNDS, BENCH_RUNTIME, BENCH_MULTI_ROUNDS, ...)
#
# Output: the tables (Markdown) on stdout and in $BENCH_OUT/report.md; the raw
# results in $BENCH_OUT/<tag>-{icount,multi}/bench.tsv, next to the guest's
# logs (console.log, cmd.out, ...).
set -euo pipefail

# shellcheck source=../scripts/testbed/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/testbed/common.sh"
TOP=$DMP_TOP
TB=$TOP/scripts/testbed
"$TB/deps.sh" # the host packages the test bed needs (what is missing is installed)

read -ra tags <<<"${KERNELS:-${DMP_TAGS[*]}}"
[ ${#tags[@]} -gt 0 ] || tags=("${DMP_TAGS[@]}")
read -ra modes <<<"${BENCH_MODES:-icount hist sysfs create multi}"
OUT=${BENCH_OUT:-$DMP_CACHE/bench/$(date +%Y%m%d-%H%M%S)}
want=$OUT
OUT=$(dmp_guest_out_dir "$want") || {
	echo "bench: BENCH_OUT=$want is not writable from the guest (inside the tree or on a guest tmpfs)" >&2
	exit 2
}

icount_modes=() multi=
for m in "${modes[@]}"; do
	case $m in
	icount | hist | sysfs | create) icount_modes+=("$m") ;;
	multi) multi=1 ;;
	*) echo "bench: unknown mode $m (icount hist sysfs create multi)" >&2; exit 2 ;;
	esac
done

# BENCH_* settings for the guest, quoted for its shell
genv=
while IFS='=' read -r k v; do
	case $k in BENCH_OUT | BENCH_MODES | BENCH_KO) continue ;; esac
	genv+="$k=$(printf '%q' "$v") "
done < <(env | grep -E '^BENCH_[A-Z_]+=' || true)

host_info() { # host_info FILE WHEN: the host's load, for the noisy mode
	{
		printf 'host\tinfo\tload_%s\t%s\n' "$2" "$(cut -d' ' -f1-3 /proc/loadavg)"
		printf 'host\tinfo\tqemus_%s\t%s\n' "$2" "$(pgrep -c qemu-system || true)"
	} >>"$1"
}

failed=0
start=$SECONDS
{
	printf 'host\tinfo\tdate\t%s\n' "$(date)"
	printf 'host\tinfo\tmachine\t%s, %s CPUs, %s\n' "$(uname -n)" "$(nproc)" \
		"$(sed -n '/^model name/{s/^model name[[:space:]]*: //p;q}' /proc/cpuinfo)"
	printf 'host\tinfo\tqemu\t%s\n' "$(v=$(qemu-system-x86_64 --version) && printf '%s\n' "${v%%$'\n'*}")"
	printf 'host\tinfo\tcommand\tKERNELS="%s" BENCH_MODES="%s" %smake bench\n' "${tags[*]}" "${modes[*]}" "$genv"
} >"$OUT/host.tsv"

for t in "${tags[@]}"; do
	tag=$(dmp_tag "$t") || { echo "bench: unknown kernel tag $t" >&2; exit 2; }
	[ -f "$DMP_CACHE/kernels/$tag/ready" ] || "$TB/kernels.sh" fetch "$tag"
	if [ -n "${BENCH_KO:-}" ]; then
		ko=$BENCH_KO
	else
		"$TB/build.sh" "$tag" >/dev/null
		ko=$TOP/build/$tag/dmp.ko
	fi
	# the guest loads it with insmod from a path it can see
	mkdir -p "$OUT/ko/$tag"
	cp "$ko" "$OUT/ko/$tag/dmp.ko"

	if [ ${#icount_modes[@]} -gt 0 ]; then
		# inside the results share: the rest of the guest's / is a tmpfs overlay
		mkdir -p "$OUT/$tag-icount"
		res=$OUT/$tag-icount/bench.tsv
		: >"$res"
		echo "bench: $tag: ${icount_modes[*]} (1 vCPU, -icount shift=0,sleep=off)" >&2
		"$TB/vmrun.sh" --kernel "$tag" --ko "$OUT/ko/$tag/dmp.ko" --cpus 1 \
			--qemu-opt '-icount shift=0,sleep=off' --out "$OUT/$tag-icount" -q \
			--cmd "${genv}bash $TOP/bench/guest.sh --res $res --ko $OUT/ko/$tag/dmp.ko ${icount_modes[*]}" >&2 ||
			{ echo "bench: $tag icount boot failed (see $OUT/$tag-icount/)" >&2; failed=1; }
	fi
	if [ -n "$multi" ]; then
		mkdir -p "$OUT/$tag-multi"
		res=$OUT/$tag-multi/bench.tsv
		: >"$res"
		host_info "$res" before
		echo "bench: $tag: multi (2 vCPUs, no icount)" >&2
		"$TB/vmrun.sh" --kernel "$tag" --ko "$OUT/ko/$tag/dmp.ko" --cpus 2 \
			--out "$OUT/$tag-multi" -q \
			--cmd "${genv}bash $TOP/bench/guest.sh --res $res --ko $OUT/ko/$tag/dmp.ko multi" >&2 ||
			{ echo "bench: $tag multi boot failed (see $OUT/$tag-multi/)" >&2; failed=1; }
		host_info "$res" after
	fi
done
printf 'host\tinfo\telapsed\t%ss\n' "$((SECONDS - start))" >>"$OUT/host.tsv"

python3 "$TOP/bench/report.py" "$OUT"/host.tsv "$OUT"/*/bench.tsv | tee "$OUT/report.md"
echo "bench: results in $OUT" >&2
exit $failed
