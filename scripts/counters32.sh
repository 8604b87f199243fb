#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# counters32.sh [TAG...] - dmp's counters on 32-bit x86 kernels checked in
# the machine code (default: 5.10-i386 6.1-i386, every i386 kernel Debian
# still has): dmp_map, dmp_end_slow and dmp_hist_map/end add to the u64
# counters and histograms only inside a
# u64_stats_sync, so that a reader on another CPU never sees a counter half
# updated (scripts/counters32.py). Under TCG the torn read itself is too
# rare to show in a test (HACKING.md, "Other architectures"), hence this
# check.
#
# The check is itself checked: its rules against hand-made instructions
# (counters32.py --self-test), and a build with the counting as it was
# before (bench/make-variant.sh nosync32: this_cpu_add of the u64s) must be
# refused. Ends with "N passed, M failed".
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=testbed/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/testbed/common.sh"
TOP=$DMP_TOP
tags=("$@")
[ ${#tags[@]} -gt 0 ] || tags=(5.10-i386 6.1-i386)
out=$TOP/build/counters32
MC_NAME=counters32 MC_PY=$TOP/scripts/counters32.py
# shellcheck source-path=SCRIPTDIR source=machine-code.sh
. "$TOP/scripts/machine-code.sh"

mc_self_test
for t in "${tags[@]}"; do
	tag=$(dmp_tag "$t") || { echo "counters32: unknown kernel tag $t" >&2; exit 2; }
	[ "$(dmp_arch "$tag")" = i386 ] || { echo "counters32: $tag is not an i386 kernel" >&2; exit 2; }
	check "$tag" ok "$TOP/dmp" "$out/$tag"
	"$TOP/bench/make-variant.sh" nosync32 "$out/variants/src/nosync32"
	check "$tag variant nosync32" refused "$out/variants/src/nosync32" "$out/variants/$tag/nosync32"
done

mc_end
