#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/variants.sh - where dmp's cost per I/O goes: dmp as it is against two
# modified copies, each measured against linear in the same icount boot
# (bench/guest.sh variants), on each kernel:
#
#   dmp     dmp/ as it is
#   noend   without the completion hook (.end_io): errors are not counted
#   bare    without the hook and without counting: a pass-through like linear
#
#   bench/variants.sh [TAG...]     (default: every kernel of the test bed)
#
# Environment: BENCH_OUT (default $DMP_CACHE/bench/variants-<date>; not inside
# the tree nor under /tmp, /run, /var/tmp), BENCH_ROUNDS (default 2: linear
# first, then dmp first), BENCH_RUNTIME (default 300ms).
# Output: the tables on stdout and in $BENCH_OUT/report.md.
set -euo pipefail

# shellcheck source=../scripts/testbed/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/testbed/common.sh"
TOP=$DMP_TOP
TB=$TOP/scripts/testbed

tags=("$@")
[ ${#tags[@]} -gt 0 ] || tags=("${DMP_TAGS[@]}")
OUT=${BENCH_OUT:-$DMP_CACHE/bench/variants-$(date +%Y%m%d-%H%M%S)}
want=$OUT
OUT=$(dmp_guest_out_dir "$want") || {
	echo "variants: BENCH_OUT=$want is not writable from the guest (inside the tree or on a guest tmpfs)" >&2
	exit 2
}

# The sources of the variants, made from dmp/ by removing lines; each edit
# must apply exactly once, or the variant would silently be dmp itself.
edit() { # edit FILE SED-EXPRESSION PATTERN-THAT-MUST-BE-GONE
	sed -i "$2" "$1"
	! grep -q "$3" "$1" || { echo "variants: edit of $1 did not apply" >&2; exit 1; }
}
rm -rf "$OUT/src"
mkdir -p "$OUT/src"
for v in dmp noend bare; do
	cp -r "$TOP/dmp" "$OUT/src/$v"
done
for v in noend bare; do
	edit "$OUT/src/$v/dmp_target.c" '/^\t\.end_io = dmp_end_io,$/d' '\.end_io = dmp_end_io'
	sed -i 's/^static int dmp_end_io(/static __maybe_unused int dmp_end_io(/' "$OUT/src/$v/dmp_target.c"
done
edit "$OUT/src/bare/dmp_target.c" '/^\tdmp_count_bio(dt->stats, bio);$/d' 'dmp_count_bio(dt->stats, bio)'

genv="BENCH_ROUNDS=${BENCH_ROUNDS:-2} BENCH_RUNTIME=${BENCH_RUNTIME:-300ms}"
failed=0
for t in "${tags[@]}"; do
	tag=$(dmp_tag "$t") || { echo "variants: unknown kernel tag $t" >&2; exit 2; }
	[ -f "$DMP_CACHE/kernels/$tag/ready" ] || "$TB/kernels.sh" fetch "$tag"
	kos=()
	for v in dmp noend bare; do
		# the guest names a variant after the directory of its dmp.ko
		SRC=$OUT/src/$v "$TB/build.sh" "$tag" "$OUT/build/$tag/$v" >/dev/null
		kos+=(--ko "$OUT/build/$tag/$v/dmp.ko")
	done
	mkdir -p "$OUT/$tag"
	res=$OUT/$tag/bench.tsv
	: >"$res"
	echo "variants: $tag (1 vCPU, -icount shift=0,sleep=off)" >&2
	"$TB/vmrun.sh" --kernel "$tag" --ko none --cpus 1 \
		--qemu-opt '-icount shift=0,sleep=off' --out "$OUT/$tag" -q \
		--cmd "$genv bash $TOP/bench/guest.sh --res $res ${kos[*]} variants" >&2 ||
		{ echo "variants: $tag boot failed (see $OUT/$tag/)" >&2; failed=1; }
done

python3 "$TOP/bench/report.py" "$OUT"/*/bench.tsv | tee "$OUT/report.md"
echo "variants: results in $OUT" >&2
exit $failed
