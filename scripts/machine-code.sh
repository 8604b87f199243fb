# shellcheck shell=bash
# machine-code.sh - sourced by request-path.sh and counters32.sh, the checks
# of dmp's machine code: build dmp (or a variant) for a kernel, run a Python
# checker on the dmp.ko, count the results. The sourcing script sets
# MC_NAME (the check's name, in every result line) and MC_PY (the checker:
# `MC_PY --self-test`, `MC_PY dmp.ko` exits non-zero when it refuses it),
# then calls mc_self_test, check ... and, last, mc_end.
# shellcheck disable=SC2034,SC2154 # passed/failed are the sourcing scripts', tag is theirs

passed=0 failed=0

result() { # result OK|FAIL NAME
	echo "$1 $MC_NAME $2"
	if [ "$1" = OK ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

mc_self_test() { # the checker's rules against its own hand-made cases
	if python3 "$MC_PY" --self-test; then
		result OK self-test
	else
		result FAIL self-test
	fi
}

# check NAME WANT SRC OUTDIR: build SRC for $tag (the sourcing script's
# current kernel tag) into OUTDIR and check it; WANT is ok (the check must
# accept it) or refused (it must refuse it)
check() {
	local got=ok
	if ! SRC=$3 "$DMP_TOP/scripts/testbed/build.sh" "$tag" "$4" >/dev/null; then
		result FAIL "$1 (build failed: $4/build.log)"
		return
	fi
	python3 "$MC_PY" "$4/dmp.ko" || got=refused
	if [ "$got" = "$2" ]; then
		result OK "$1 ($got)"
	else
		result FAIL "$1 ($got, should be $2)"
	fi
}

mc_end() { # the closing line; the exit status
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
