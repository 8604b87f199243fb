#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# request-path.sh [TAG...] - dmp's request path (dmp_map, dmp_end_io) checked
# in the machine code built for each kernel (default: every stock kernel of
# the test bed): no atomic, no lock, no call but ftrace's, the return thunk's,
# bio_associate_blkg, dmp_end_slow (a failed bio) and, behind the
# histograms bit, dmp_hist_map/end (which may read the clock and enter RCU),
# no write to a global (request-path.py).
#
# The check is itself checked: the rules against hand-made instructions
# (request-path.py --self-test), and two builds for the first kernel that
# put a shared write on the request path (bench/make-variant.sh atomic and
# lock: the designs of most public dmp modules and of the seed) must be
# refused. Ends with "N passed, M failed".
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=testbed/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/testbed/common.sh"
TOP=$DMP_TOP
tags=("$@")
[ ${#tags[@]} -gt 0 ] || tags=("${DMP_TAGS[@]}")
out=$TOP/build/request-path
MC_NAME=request-path MC_PY=$TOP/scripts/request-path.py
# shellcheck source-path=SCRIPTDIR source=machine-code.sh
. "$TOP/scripts/machine-code.sh"

mc_self_test
for t in "${tags[@]}"; do
	tag=$(dmp_tag "$t") || { echo "request-path: unknown kernel tag $t" >&2; exit 2; }
	check "$tag" ok "$TOP/dmp" "$out/$tag"
done

# shared counters on the request path, for the first kernel
tag=$(dmp_tag "${tags[0]}")
for v in atomic lock; do
	"$TOP/bench/make-variant.sh" "$v" "$out/variants/src/$v"
	check "$tag variant $v" refused "$out/variants/src/$v" "$out/variants/$tag/$v"
done

mc_end
