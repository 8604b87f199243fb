#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh: what `make check` runs. For each kernel: fetch it (cached), build
# dmp.ko for it, boot it once under QEMU and run the selected test cases in
# order (scripts/testbed/vmrun.sh). Prints a table per kernel and, last, the
# line "N passed, M failed" (", K skipped" when K > 0), counting one result
# per case and kernel. Exit status non-zero when anything failed or nothing
# ran.
#
# Environment:
#   KERNELS  kernel tags (default "5.10 6.1 6.12 sid", plus "debug" when the
#            debug kernel of debug-kernel.sh is cached and current, unless
#            DMP_CHECK_DEBUG=0; 7.x = sid; other arches: 6.1-arm64, 6.1-i386)
#   TESTS    case files and/or area directories (default: tests/*/); from
#            directories only quick cases, those without "# QUICK: no",
#            unless STRESS=1; a file named explicitly always runs
#   STRESS   1: include the "# QUICK: no" cases
#   CPUS     vCPUs per guest (default 2)
#   JOBS     kernels tested at once (default 1: one QEMU at a time)
#   RETRIES  boots after a guest died mid-way, to run the cases after the one
#            it died in (default 3)
#
# dmpstat is built first (its cases run it in the guests) and, when the whole
# suite or its cases are selected, its host tests and a fuzz run of its
# parsers (FUZZ_SECONDS, default 20) run before the kernels; their results
# count in the totals (out/check/host/).
#
# Results: out/check/<TAG>/ (vmrun.sh's files of the first boot; boot-2/...
# for the boots after a crash), out/check/<TAG>/build.log, and
# out/check/<TAG>/results (one line a case: case result seconds boot-dir).

set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
TOP=$DMP_TOP
TB=$TOP/scripts/testbed
cd "$TOP"

KERNELS=${KERNELS:-}
TESTS=${TESTS:-}
STRESS=${STRESS:-0}
CPUS=${CPUS:-2}
JOBS=${JOBS:-1}
RETRIES=${RETRIES:-3}
if [ -z "$KERNELS" ]; then
	KERNELS="${DMP_TAGS[*]}"
	# the debug kernel too, when it is cached and current (HACKING.md)
	if [ "${DMP_CHECK_DEBUG:-1}" != 0 ] && "$TB/debug-kernel.sh" --check >/dev/null 2>&1; then
		KERNELS+=" debug"
	fi
fi
[ -n "$TESTS" ] || TESTS=tests
"$TB/deps.sh" # the host packages the test bed needs (what is missing is installed)

log() { echo "check: $*" >&2; }

header() { # header NAME FILE
	if [ "$2" = kmemleak ]; then # not a file: the runner's scan after the cases
		[ "$1" != DESC ] || echo "kmemleak: no memory leaked during the cases (guest-run.sh)"
		return
	fi
	if [ "$2" = harness ]; then # not a file: the test bed could not run the cases
		[ "$1" != DESC ] || echo "the test bed: no case of this kernel could run (why below)"
		return
	fi
	sed -n "1,30{s/^# $1:[[:space:]]*//p;T;q}" "$2"
}

# --- the cases ----------------------------------------------------------------
# A case is an executable file named NNN in tests/<area>/.
is_case() { [[ $(basename "$1") =~ ^[0-9]{3}$ ]] && [ -f "$1" ]; }
is_quick() { [ "$STRESS" = 1 ] || [ "$(header QUICK "$1")" != no ]; }

cases=()
for t in $TESTS; do
	t=${t%/}
	if [ -d "$t" ]; then
		while IFS= read -r c; do
			is_quick "$c" && cases+=("$c")
		done < <(find "$t" -mindepth 1 -maxdepth 2 -type f -regex '.*/[0-9][0-9][0-9]' | sort)
	elif is_case "$t"; then
		cases+=("$t")
	else
		log "no test case or area $t"
		exit 2
	fi
done
# relative to the tree, each once, in order
mapfile -t cases < <(for c in "${cases[@]}"; do realpath --relative-to="$TOP" "$c"; done | awk '!seen[$0]++')
if [ ${#cases[@]} -eq 0 ]; then
	log "no test cases selected (TESTS=$TESTS)"
	echo "0 passed, 0 failed"
	exit 1
fi

tags=()
for k in $KERNELS; do
	t=$(dmp_tag "$k" 2>/dev/null) || t=$k
	[[ " ${tags[*]} " == *" $t "* ]] || tags+=("$t")
done

case_id() {
	[[ $1 == */* ]] || { echo "$1"; return; } # kmemleak
	local d=${1%/*}
	echo "${d##*/}-${1##*/}"
}

# --- one kernel ---------------------------------------------------------------
# check_kernel TAG: fetch, build, boot (again after a crash); writes
# out/check/TAG/results. Its output goes to the terminal (JOBS=1) or to
# out/check/TAG/check.log.
check_kernel() {
	local tag=$1 dir=$TOP/out/check/$1 c id boot=1 bdir todo=() left=() st why
	rm -rf "$dir"
	mkdir -p "$dir"
	: >"$dir/results"

	fail_all() { # fail_all REASON CASE...: no result for these cases
		local reason=$1 c
		shift
		for c in "$@"; do
			id=$(case_id "$c")
			echo "$c fail 0 -" >>"$dir/results"
			echo "$reason" >"$dir/$id.why"
		done
	}
	# harness_fail REASON [N]: the test bed could not run the cases: one failure
	# that says why (SPEC §8), not one per case, and never a pass
	harness_fail() {
		echo "harness fail 0 -" >>"$dir/results"
		{
			echo "$1"
			echo "(${2:-${#cases[@]}} case(s) not run on $tag)"
		} >"$dir/harness.why"
	}

	echo "== $tag: fetching and building"
	st=0
	if [ "$tag" = debug ]; then
		"$TB/debug-kernel.sh" >"$dir/fetch.log" 2>&1 || st=$?
	else
		"$TB/kernels.sh" fetch "$tag" >"$dir/fetch.log" 2>&1 || st=$?
	fi
	cat "$dir/fetch.log"
	if [ $st -ne 0 ]; then
		harness_fail "kernel $tag could not be fetched: $(grep -E 'error|failed' "$dir/fetch.log" | tail -n 3)"
		return
	fi
	st=0
	"$TB/build.sh" "$tag" >"$dir/build.log" 2>&1 || st=$?
	[ ! -f "$TOP/build/$tag/build.log" ] || cp "$TOP/build/$tag/build.log" "$dir/build.log"
	if [ $st -ne 0 ] || [ ! -f "$TOP/build/$tag/dmp.ko" ]; then
		echo "== $tag: BUILD FAILED (out/check/$tag/build.log):"
		grep -m 20 -E 'warning:|error:' "$dir/build.log" | sed 's/^/    /' || tail -n 20 "$dir/build.log" | sed 's/^/    /'
		fail_all "the build for $tag failed (out/check/$tag/build.log)" "${cases[@]}"
		return
	fi

	todo=("${cases[@]}")
	while [ ${#todo[@]} -gt 0 ]; do
		if [ $boot -eq 1 ]; then bdir=$dir; else bdir=$dir/boot-$boot; fi
		echo "== $tag: boot $boot, ${#todo[@]} case(s)"
		"$TB/vmrun.sh" --kernel "$tag" --cpus "$CPUS" --out "$bdir" "${todo[@]}" || true
		if [ ! -f "$bdir/console.log" ]; then
			harness_fail "vmrun.sh failed before booting (out/check/$tag.log or the output above)" ${#todo[@]}
			break
		fi
		left=()
		for c in "${todo[@]}"; do
			id=$(case_id "$c")
			if [ -f "$bdir/$id.result" ]; then
				echo "$c $(cat "$bdir/$id.result") $(cat "$bdir/$id.secs" 2>/dev/null || echo 0) ${bdir#"$dir"}" >>"$dir/results"
			elif [ ${#left[@]} -eq 0 ] && [ ! -f "$bdir/DONE" ]; then
				# the case the guest died in (or hung in): failed
				why="the guest died or hung during this case"
				[ ! -f "$bdir/.job/problems" ] || why+=": $(sed ':a;N;$!ba;s/\n/; /g' "$bdir/.job/problems")"
				echo "$why" >>"$bdir/$id.why"
				echo "$c fail 0 ${bdir#"$dir"}" >>"$dir/results"
				left+=("")
			else
				left+=("$c")
			fi
		done
		# the kmemleak scan after the cases, on a kernel with kmemleak
		if [ -f "$bdir/kmemleak.result" ]; then
			echo "kmemleak $(cat "$bdir/kmemleak.result") $(cat "$bdir/kmemleak.secs" 2>/dev/null || echo 0) ${bdir#"$dir"}" >>"$dir/results"
		fi
		# left[0] is the placeholder for the case that took the guest down
		todo=()
		for c in "${left[@]}"; do [ -z "$c" ] || todo+=("$c"); done
		[ ${#todo[@]} -gt 0 ] || break
		if [ -f "$bdir/DONE" ]; then
			fail_all "no result although the guest finished" "${todo[@]}"
			break
		fi
		if [ $boot -gt "$RETRIES" ]; then
			fail_all "not run: the guest died $boot times" "${todo[@]}"
			break
		fi
		boot=$((boot + 1))
	done
}

# print_table TAG: the table of one kernel; adds to the totals
passed=0 failed=0 skipped=0
print_table() {
	local tag=$1 dir=$TOP/out/check/$1 c result secs bdir id desc kver=
	[ -f "$DMP_CACHE/kernels/$tag/kver" ] && kver=" ($(cat "$DMP_CACHE/kernels/$tag/kver"))"
	echo
	echo "=== kernel $tag$kver"
	printf '%-16s %-6s %6s  %s\n' case result secs description
	while read -r c result secs bdir; do
		desc=$(header DESC "$c")
		printf '%-16s %-6s %6s  %s\n' "${c#tests/}" "$result" "$secs" "$desc"
		case $result in
		pass) passed=$((passed + 1)) ;;
		skip) skipped=$((skipped + 1)) ;;
		*) failed=$((failed + 1)) ;;
		esac
	done <"$dir/results"
	# the reasons, after the table
	while read -r c result secs bdir; do
		[ "$result" != pass ] || continue
		id=$(case_id "$c")
		[ "$bdir" = - ] && bdir=
		echo "--- $tag ${c#tests/}: $result (out/check/$tag$bdir/$id.*)"
		sed 's/^/    /' "$dir$bdir/$id.why" 2>/dev/null || true
		if [ "$result" = fail ] && [ -s "$dir$bdir/$id.err" ]; then
			echo "    stderr (last lines):"
			tail -n 8 "$dir$bdir/$id.err" | sed 's/^/      /'
		fi
	done <"$dir/results"
}

# dmpstat, which the cases of tests/dmpstat and tests/attach run in the
# guests (built for the host), and its host tests (fixture trees, ASan and
# UBSan, both compilers, a time-bounded fuzz run of its parsers): no VM, so
# they come first; run when the whole suite or dmpstat's cases are selected
# (HOST_TESTS=0/1 decides otherwise).
host_passed=0 host_failed=0
host_tests=${HOST_TESTS:-}
if [ -z "$host_tests" ]; then
	host_tests=0
	[[ " $TESTS " == *" tests "* || " $TESTS " == *" tests/ "* || $TESTS == *dmpstat* ]] && host_tests=1
fi
mkdir -p "$TOP/out/check/host"
if ! make -s -C "$TOP/dmpstat" >"$TOP/out/check/host/build.log" 2>&1; then
	log "dmpstat does not build (out/check/host/build.log)"
	cat "$TOP/out/check/host/build.log" >&2
	host_failed=$((host_failed + 1))
fi
if [ "$host_tests" = 1 ]; then
	log "dmpstat's host tests (out/check/host/)"
	st=0
	make -s -C "$TOP/dmpstat" check >"$TOP/out/check/host/check.log" 2>&1 || st=$?
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$TOP/out/check/host/check.log" | tail -n 1) || true
	if [ -n "$line" ]; then
		read -r p _ f _ <<<"${line//,/}"
		host_passed=$((host_passed + p)) host_failed=$((host_failed + f))
		[ "$st" -eq 0 ] || [ "$f" -gt 0 ] || host_failed=$((host_failed + 1))
	else
		host_failed=$((host_failed + 1))
	fi
	if make -s -C "$TOP/dmpstat" fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-20}" >"$TOP/out/check/host/fuzz.log" 2>&1; then
		host_passed=$((host_passed + 1))
	else
		host_failed=$((host_failed + 1))
	fi
fi

log "kernels: ${tags[*]}; ${#cases[@]} case(s); ${CPUS} vCPUs"
if [ "$JOBS" -le 1 ]; then
	for tag in "${tags[@]}"; do
		check_kernel "$tag"
	done
else
	running=0
	for tag in "${tags[@]}"; do
		mkdir -p "out/check/$tag"
		check_kernel "$tag" >"out/check/$tag.log" 2>&1 &
		running=$((running + 1))
		if [ $running -ge "$JOBS" ]; then
			wait -n || true
			running=$((running - 1))
		fi
	done
	wait || true
fi

if [ "$host_tests" = 1 ] || [ "$host_failed" -gt 0 ]; then
	echo
	echo "=== host: dmpstat (out/check/host/)"
	grep -E '^(ok|FAIL) ' "$TOP/out/check/host/check.log" 2>/dev/null | grep -c '^ok' | sed 's/$/ host tests passed/' || true
	grep -E '^FAIL ' "$TOP/out/check/host/check.log" 2>/dev/null || true
	[ "$host_tests" != 1 ] || grep -E '^(Done|stat::number_of_executed_units)' "$TOP/out/check/host/fuzz.log" 2>/dev/null | sed 's/^/fuzz: /' || true
	passed=$((passed + host_passed)) failed=$((failed + host_failed))
fi
for tag in "${tags[@]}"; do
	print_table "$tag"
done
echo
line="$passed passed, $failed failed"
[ $skipped -eq 0 ] || line+=", $skipped skipped"
echo "$line"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
