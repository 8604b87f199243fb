#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# counters32.sh [TAG...] - dmp's counters on 32-bit x86 kernels checked in
# the machine code (default: 5.10-i386 6.1-i386, every i386 kernel Debian
# still has): dmp_map and dmp_end_io add to the u64 counters only inside a
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
passed=0 failed=0

result() { # result OK|FAIL NAME
	echo "$1 counters32 $2"
	if [ "$1" = OK ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

if python3 "$TOP/scripts/counters32.py" --self-test; then
	result OK self-test
else
	result FAIL self-test
fi

# check NAME WANT SRC OUTDIR: build SRC for $tag into OUTDIR and check it;
# WANT is ok (the check must accept it) or refused (it must refuse it)
check() {
	local got=ok
	if ! SRC=$3 "$TOP/scripts/testbed/build.sh" "$tag" "$4" >/dev/null; then
		result FAIL "$1 (build failed: $4/build.log)"
		return
	fi
	python3 "$TOP/scripts/counters32.py" "$4/dmp.ko" || got=refused
	if [ "$got" = "$2" ]; then
		result OK "$1 ($got)"
	else
		result FAIL "$1 ($got, should be $2)"
	fi
}

for t in "${tags[@]}"; do
	tag=$(dmp_tag "$t") || { echo "counters32: unknown kernel tag $t" >&2; exit 2; }
	[ "$(dmp_arch "$tag")" = i386 ] || { echo "counters32: $tag is not an i386 kernel" >&2; exit 2; }
	check "$tag" ok "$TOP/dmp" "$out/$tag"
	"$TOP/bench/make-variant.sh" nosync32 "$out/variants/src/nosync32"
	check "$tag variant nosync32" refused "$out/variants/src/nosync32" "$out/variants/$tag/nosync32"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
