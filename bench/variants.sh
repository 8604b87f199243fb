#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/variants.sh - dmp as it is against modified copies, each measured
# against linear in the same boot (bench/guest.sh variants), on each kernel:
#
#   dmp noend bare atomic lock: see bench/make-variant.sh
#
#   bench/variants.sh [TAG...]     (default: every kernel of the test bed)
#   bench/variants.sh --help       this text
#
# atomic and lock are the positive controls of the multi-CPU mode: they put
# on the request path the shared write that mode is meant to catch.
#
# Environment:
#   BENCH_VARIANTS  the variants (default "dmp noend bare")
#   BENCH_VARIANT_MODE
#                   icount (default): cost per I/O, 1 vCPU,
#                   -icount shift=0,sleep=off, BENCH_ROUNDS (default 2:
#                   linear first, then dmp first) of BENCH_RUNTIME (300ms)
#                   multi: 2 vCPUs, no icount, numjobs=2, iodepth 32,
#                   BENCH_MULTI_ROUNDS (default 9) of BENCH_MULTI_RUNTIME (1s)
#   BENCH_OUT       default $DMP_CACHE/bench/variants-<date>; not inside the
#                   tree nor under /tmp, /run, /var/tmp
# Output: the tables on stdout and in $BENCH_OUT/report.md.
set -euo pipefail

# shellcheck source=../scripts/testbed/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/testbed/common.sh"
TOP=$DMP_TOP
TB=$TOP/scripts/testbed

case ${1:-} in
-h | --help) sed -n '4,25s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
-*) echo "variants: unknown option $1 (see --help)" >&2; exit 2 ;;
esac
tags=("$@")
[ ${#tags[@]} -gt 0 ] || tags=("${DMP_TAGS[@]}")
# before anything is written or built
for t in "${tags[@]}"; do
	dmp_tag "$t" >/dev/null || { echo "variants: unknown kernel tag $t (${DMP_TAGS[*]})" >&2; exit 2; }
done
OUT=${BENCH_OUT:-$DMP_CACHE/bench/variants-$(date +%Y%m%d-%H%M%S)}
want=$OUT
OUT=$(dmp_guest_out_dir "$want") || {
	echo "variants: BENCH_OUT=$want is not writable from the guest (inside the tree or on a guest tmpfs)" >&2
	exit 2
}

read -ra variants <<<"${BENCH_VARIANTS:-dmp noend bare}"
rm -rf "$OUT/src"
for v in "${variants[@]}"; do
	"$TOP/bench/make-variant.sh" "$v" "$OUT/src/$v"
done

case ${BENCH_VARIANT_MODE:-icount} in
icount)
	genv="BENCH_ROUNDS=${BENCH_ROUNDS:-2} BENCH_RUNTIME=${BENCH_RUNTIME:-300ms}"
	vm=(--cpus 1 --qemu-opt '-icount shift=0,sleep=off')
	gmode=variants
	;;
multi)
	genv="BENCH_MULTI_ROUNDS=${BENCH_MULTI_ROUNDS:-9} BENCH_MULTI_RUNTIME=${BENCH_MULTI_RUNTIME:-1s}"
	vm=(--cpus 2)
	gmode="variants-multi"
	;;
*) echo "variants: BENCH_VARIANT_MODE is icount or multi" >&2; exit 2 ;;
esac
failed=0
for t in "${tags[@]}"; do
	tag=$(dmp_tag "$t") || { echo "variants: unknown kernel tag $t" >&2; exit 2; }
	[ -f "$DMP_CACHE/kernels/$tag/ready" ] || "$TB/kernels.sh" fetch "$tag"
	kos=()
	for v in "${variants[@]}"; do
		# the guest names a variant after the directory of its dmp.ko
		SRC=$OUT/src/$v "$TB/build.sh" "$tag" "$OUT/build/$tag/$v" >/dev/null
		kos+=(--ko "$OUT/build/$tag/$v/dmp.ko")
	done
	mkdir -p "$OUT/$tag"
	res=$OUT/$tag/bench.tsv
	: >"$res"
	echo "variants: $tag (${vm[*]})" >&2
	"$TB/vmrun.sh" --kernel "$tag" --ko none "${vm[@]}" --out "$OUT/$tag" -q \
		--cmd "$genv bash $TOP/bench/guest.sh --res $res ${kos[*]} $gmode" >&2 ||
		{ echo "variants: $tag boot failed (see $OUT/$tag/)" >&2; failed=1; }
done

python3 "$TOP/bench/report.py" "$OUT"/*/bench.tsv | tee "$OUT/report.md"
echo "variants: results in $OUT" >&2
exit $failed
