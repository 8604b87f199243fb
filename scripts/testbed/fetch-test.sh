#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fetch-test.sh - the test bed's kernel fetch as a fresh machine sees it
# (make check-fetch; a CI step).  A warm cache never runs the resolution, so
# this runs it from nothing, on a busy host:
#
#   fetch-test.sh [ROUNDS [RESOLVE_ROUNDS]]
#                             ROUNDS (default 1) full fetches of every kernel
#                             tag into an empty cache, RESOLVE_ROUNDS (default
#                             5) resolutions of every tag
#
# Checks, each printed as "ok NAME" or "FAIL NAME: why", then "N passed, M failed":
#   lint-pipes-self-test   the linter of early-exit readers finds what it must
#   lint-pipes             no pipeline of the tree can die of SIGPIPE at random
#   sigpipe-TAG            `kernels.sh resolve TAG` with an apt-cache that
#                          writes a line at a time (a reader that leaves early
#                          then kills it every time, not by chance) resolves the
#                          same packages as with the real apt-cache
#   resolve-N              every tag resolved again (apt lists kept, index
#                          downloads not retried) beside two busy-looping
#                          processes; the same packages as in sigpipe-TAG
#   round-N                every tag (stock, i386, arm64, sid) fetched into an
#                          empty cache beside two busy-looping processes; the
#                          same packages as round 1
#   no-security-mirror     an unreachable DMP_SECURITY_MIRROR and an empty
#                          cache: 6.1 comes from bookworm, and the log says so
#   no-mirror-is-loud      nothing resolves and nothing is cached: the fetch
#                          fails and says why (no silent empty list)
#
# Downloads go to a temporary cache under $DMP_CACHE/fetch-test (about 3 GiB
# a round, removed after it); the sid build chroot is shared with the real
# cache (it is a build environment, not a kernel).
set -euo pipefail
shopt -s inherit_errexit

TB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$TB/common.sh"

ROUNDS=${1:-1}
RESOLVE_ROUNDS=${2:-5}
TAGS=(5.10 6.1 6.12 sid 6.1-i386 6.1-arm64)
WORK=$DMP_CACHE/fetch-test
export DMP_SID_CHROOT # the real cache's, for every temporary cache
passed=0 failed=0
burners=()

ok() { echo "ok $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

cleanup() {
	((${#burners[@]} == 0)) || kill "${burners[@]}" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

# busy: two processes looping on the CPU (a 2-core host is then loaded
# twice over with what else runs); unbusy stops them.
busy() {
	(while :; do :; done) &
	burners+=($!)
	(while :; do :; done) &
	burners+=($!)
}
unbusy() {
	((${#burners[@]} == 0)) || kill "${burners[@]}" 2>/dev/null || true
	wait "${burners[@]}" 2>/dev/null || true
	burners=()
}

mkdir -p "$WORK"

# ---- the linter -------------------------------------------------------------
if out=$(python3 "$DMP_TOP/scripts/lint-pipes.py" --self-test 2>&1); then
	ok lint-pipes-self-test
else
	bad lint-pipes-self-test "$out"
fi
if out=$(python3 "$DMP_TOP/scripts/lint-pipes.py" 2>&1); then
	ok lint-pipes
else
	bad lint-pipes "$out"
fi

# ---- SIGPIPE made certain ---------------------------------------------------
# An apt-cache that is still writing when its reader has what it wants: its
# output, then more blank lines than a pipe and awk's read buffer hold (mawk
# reads ahead up to 32 KiB; apt's readers skip blank lines).  A reader that
# stops at a match (awk '... exit', head, grep -q) gets it killed by SIGPIPE
# (or EPIPE) every time, not only on a busy host.
mkdir -p "$WORK/slow-bin"
cat >"$WORK/slow-bin/apt-cache" <<'EOS'
#!/bin/bash
out=$(/usr/bin/apt-cache "$@") || exit
printf '%s\n' "$out" || exit 141
pad=$(printf '%*s' 4096 '')
for ((i = 0; i < 64; i++)); do
	printf '%s\n' "${pad// /$'\n'}" || exit 141
done
EOS
chmod 755 "$WORK/slow-bin/apt-cache"

resolve_log=$WORK/resolve.log
declare -A wants=()
for t in "${TAGS[@]}"; do
	if ! want=$(DMP_CACHE=$WORK/resolve "$TB/kernels.sh" resolve "$t" 2>"$resolve_log") || [[ -z $want ]]; then
		# only the mirror can fail here; say what it said
		bad "sigpipe-$t" "no resolution with the real apt-cache: $(tail -n 3 "$resolve_log")"
		continue
	fi
	if ! got=$(PATH=$WORK/slow-bin:$PATH DMP_CACHE=$WORK/resolve "$TB/kernels.sh" resolve "$t" 2>"$resolve_log"); then
		bad "sigpipe-$t" "the resolution failed: $(tail -n 3 "$resolve_log")"
	elif [[ $got != "$want" ]]; then
		bad "sigpipe-$t" "resolved ${got//$'\n'/ } instead of ${want//$'\n'/ }"
	else
		ok "sigpipe-$t"
	fi
	wants[$t]=$want
done

# ---- resolutions from empty lists, on a busy host -------------------------------
for ((r = 1; r <= RESOLVE_ROUNDS; r++)); do
	busy
	start=$SECONDS
	why=
	for t in "${TAGS[@]}"; do
		if ! got=$(DMP_FETCH_TRIES=1 DMP_CACHE=$WORK/resolve "$TB/kernels.sh" resolve "$t" 2>"$resolve_log"); then
			why+="$t: the resolution failed: $(tail -n 3 "$resolve_log"); "
		elif [[ -z $got || $got != "${wants[$t]:-}" ]]; then
			why+="$t: resolved '${got//$'\n'/ }' instead of '${wants[$t]:-}'; "
		fi
	done
	unbusy
	if [[ -n $why ]]; then
		bad "resolve-$r" "$why"
	else
		ok "resolve-$r (${#TAGS[@]} tags in $((SECONDS - start)) s)"
	fi
done

# ---- rounds from an empty cache, on a busy host -------------------------------
first=
for ((r = 1; r <= ROUNDS; r++)); do
	c=$WORK/round
	rm -rf "$c"
	busy
	start=$SECONDS
	st=0
	DMP_CACHE=$c "$TB/kernels.sh" fetch "${TAGS[@]}" >"$WORK/round.log" 2>&1 || st=$?
	unbusy
	sets=
	for t in "${TAGS[@]}"; do
		kd=$c/kernels/$t
		if [[ -e $kd/ready ]]; then
			sets+="$t: $(paste -sd ' ' "$kd/packages")"$'\n'
		else
			sets+="$t: MISSING"$'\n'
		fi
	done
	[[ -n $first ]] || first=$sets
	if ((st != 0)); then
		bad "round-$r" "kernels.sh fetch exited $st after $((SECONDS - start)) s: $(grep 'kernels.sh' "$WORK/round.log" | tail -n 5)"
	elif [[ $sets == *MISSING* ]]; then
		bad "round-$r" "not every tag is cached: $sets"
	elif [[ $sets != "$first" ]]; then
		# the mirror may move between rounds; say so rather than hide it
		bad "round-$r" "other packages than round 1 (did the mirror move?): $sets"
	else
		ok "round-$r (${#TAGS[@]} kernels in $((SECONDS - start)) s)"
	fi
	grep -h 'taking\|keeping' "$WORK/round.log" | sed 's/^/    /' || true
	rm -rf "$c"
done

# ---- an unreachable security mirror -------------------------------------------
c=$WORK/nosec
rm -rf "$c"
st=0
DMP_CACHE=$c DMP_FETCH_TRIES=2 DMP_SECURITY_MIRROR=http://127.0.0.1:9/debian-security \
	"$TB/kernels.sh" fetch 6.1 >"$WORK/nosec.log" 2>&1 || st=$?
if ((st != 0)); then
	bad no-security-mirror "fetch 6.1 exited $st: $(grep 'kernels.sh' "$WORK/nosec.log" | tail -n 3)"
elif [[ ! -e $c/kernels/6.1/ready ]]; then
	bad no-security-mirror "no 6.1 kernel cached"
elif ! grep -q '^kernels.sh: 6.1: taking linux-image-amd64 [^ ]* from the indexes that did download (failed: .*127.0.0.1:9' "$WORK/nosec.log"; then
	bad no-security-mirror "the log does not say what was taken and why: $(grep 'kernels.sh' "$WORK/nosec.log")"
else
	ok "no-security-mirror ($(cat "$c/kernels/6.1/kver"))"
fi
rm -rf "$c"

# ---- nothing resolves, nothing cached: loud ----------------------------------
c=$WORK/nomirror
st=0
DMP_CACHE=$c DMP_FETCH_TRIES=1 DMP_DEBIAN_MIRROR=http://127.0.0.1:9/debian \
	"$TB/kernels.sh" fetch 5.10 >"$WORK/nomirror.log" 2>&1 || st=$?
if ((st == 0)); then
	bad no-mirror-is-loud "fetch 5.10 without a mirror exited 0"
elif ! grep -q "^kernels.sh: error: 5.10: cannot resolve the kernel's packages (apt-get update failed: " "$WORK/nomirror.log"; then
	bad no-mirror-is-loud "no reason given: $(tail -n 3 "$WORK/nomirror.log")"
else
	ok no-mirror-is-loud
fi
rm -rf "$c"

echo "$passed passed, $failed failed"
((failed == 0))
