# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# tests/lib.sh: helpers for the test cases (HACKING.md, "Test cases").
# A case sources it with
#
#	. "$SRCDIR/tests/lib.sh"
#
# and runs inside the guest as root, with KVER, SRCDIR, TMPDIR, NCPUS and
# DM_DISABLE_UDEV=1 set by the runner. Sourcing it turns on `set -euo
# pipefail`. Diagnostics go to stderr; stdout is what a golden .out file
# compares.

set -euo pipefail
export DM_DISABLE_UDEV=1

# fail MSG...: report a failure on stderr and end the case (exit 1).
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# skip MSG...: report why the case cannot run here and end it as skipped
# (exit 77, never counted as a pass).
skip() {
	echo "SKIP: $*" >&2
	exit 77
}

# expect_eq WHAT EXPECTED ACTUAL: fail unless EXPECTED and ACTUAL are the same
# string; WHAT names the value in the message. Multi-line values are shown
# as a diff.
expect_eq() {
	local what=$1 expected=$2 actual=$3
	[ "$expected" == "$actual" ] && return 0
	if [[ $expected == *$'\n'* || $actual == *$'\n'* ]]; then
		echo "FAIL: $what differs (- expected, + actual):" >&2
		diff -u --label expected --label actual <(printf '%s\n' "$expected") \
			<(printf '%s\n' "$actual") >&2 || true
		exit 1
	fi
	fail "$what: expected '$expected', got '$actual'"
}

# dmp_load: load the dmp module (modprobe, so the runner's freshly built
# updates/dmp.ko) and check that /sys/module/dmp/stat/all_devs appeared.
dmp_load() {
	modprobe dmp || fail "modprobe dmp failed"
	[ -d /sys/module/dmp/stat/all_devs ] ||
		fail "modprobe dmp did not create /sys/module/dmp/stat/all_devs"
}

# dmpstat_need: set D to the dmpstat built on the host (make check and make
# demo build it: make -C dmpstat). That binary is for the host's architecture
# (x86_64): in a guest of another architecture the case is skipped, said so
# (dmpstat's host tests and the amd64 kernels cover it).
dmpstat_need() {
	D=$SRCDIR/dmpstat/dmpstat
	[ "$(uname -m)" = x86_64 ] || skip "dmpstat is built for the host (x86_64), not for $(uname -m)"
	[ -x "$D" ] || fail "no $D: build it on the host first (make -C dmpstat)"
}

# dm_kname NAME: print the kernel name (dm-N) of the device-mapper device NAME.
dm_kname() {
	local kname d
	kname=$(dmsetup info -c --noheadings -o blkdevname "$1" 2>/dev/null | tr -d ' ') || true
	if [[ $kname != dm-* ]]; then
		kname=
		for d in /sys/block/dm-*; do
			[ -f "$d/dm/name" ] && [ "$(cat "$d/dm/name")" == "$1" ] && kname=${d##*/}
		done
	fi
	[ -n "$kname" ] || fail "no device-mapper device named $1"
	echo "$kname"
}

# statdir NAME: print the dmp statistics directory of device NAME,
# /sys/module/dmp/stat/dm-N (failing if it does not exist). NAME=all_devs
# gives the aggregate directory.
statdir() {
	local d
	if [ "$1" == all_devs ]; then
		d=/sys/module/dmp/stat/all_devs
	else
		d=/sys/module/dmp/stat/$(dm_kname "$1")
	fi
	[ -d "$d" ] || fail "no statistics directory $d for $1"
	echo "$d"
}

# read_stat NAME FILE: print the content of FILE (read_cnt, summary, ...) in
# the statistics directory of NAME (a dm name or all_devs).
read_stat() {
	local d
	d=$(statdir "$1")
	[ -f "$d/$2" ] || fail "no file $d/$2"
	cat "$d/$2"
}

# brd_load SIZE_MIB [COUNT]: load brd with COUNT (default 1) RAM disks of
# SIZE_MIB MiB each, /dev/ram0... (skip if the kernel has no brd; fail if brd
# is already loaded).
# Where the runner keeps block drivers loaded (DMP_KEEP_DRIVERS=1: a kernel
# with DEBUG_KOBJECT_RELEASE, on which unloading brd crashes the kernel; see
# HACKING.md), the first brd_load of the boot loads BRD_KEEP_NR disks of
# BRD_KEEP_MIB MiB, the most any case asks for, and brd stays: a case then
# gets disks at least as large as it asked for (size them with blockdev
# --getsz), zeroed in full like a fresh brd's.
BRD_KEEP_NR=2 BRD_KEEP_MIB=256
brd_load() {
	local nr=${2:-1} i
	if [ "${DMP_KEEP_DRIVERS:-0}" = 1 ]; then
		[ "$nr" -le $BRD_KEEP_NR ] && [ "$1" -le $BRD_KEEP_MIB ] ||
			fail "brd_load $1 $nr: more than the kept brd has (BRD_KEEP_NR, BRD_KEEP_MIB)"
		if [ ! -d /sys/module/brd ]; then
			modprobe brd rd_nr=$BRD_KEEP_NR rd_size=$((BRD_KEEP_MIB * 1024)) max_part=0 ||
				skip "no brd in this kernel"
		fi
		[ "$(cat /sys/module/brd/parameters/rd_size)" -ge $(($1 * 1024)) ] ||
			fail "the kept brd's disks are smaller than $1 MiB"
		[ -b /dev/ram$((nr - 1)) ] || fail "brd loaded but /dev/ram$((nr - 1)) is missing"
		# What earlier cases wrote must not show (testbed/006 checks zeros):
		# the whole disk, which is what a case sees (blockdev --getsz).
		for ((i = 0; i < nr; i++)); do
			dd if=/dev/zero of=/dev/ram$i bs=1M oflag=direct status=none \
				count=$(($(blockdev --getsize64 /dev/ram$i) / 1048576)) ||
				fail "cannot zero /dev/ram$i"
		done
		return 0
	fi
	[ ! -d /sys/module/brd ] || fail "brd is already loaded"
	modprobe brd rd_nr="$nr" rd_size=$(($1 * 1024)) max_part=0 ||
		skip "no brd in this kernel"
	[ -b /dev/ram$((nr - 1)) ] || fail "brd loaded but /dev/ram$((nr - 1)) is missing"
}

# brd_unload: unload brd (its devices must be unused); where the runner keeps
# block drivers loaded, only check that nothing holds them.
brd_unload() {
	local h
	[ -d /sys/module/brd ] || return 0
	if [ "${DMP_KEEP_DRIVERS:-0}" = 1 ]; then
		for h in /sys/block/ram*/holders/*; do
			[ ! -e "$h" ] || fail "brd disk still held: $h"
		done
		return 0
	fi
	rmmod brd || fail "cannot unload brd"
}

# loop_create SIZE_MIB [LOSETUP_OPTION...]: attach a loop device to a new
# sparse file of SIZE_MIB MiB in $TMPDIR (tmpfs: it supports discard) and
# print its path (/dev/loopN). Options go to losetup (e.g. --sector-size 4096).
loop_create() {
	local size=$1 img dev
	shift
	modprobe loop 2>/dev/null || true
	img=$(mktemp "$TMPDIR/loop.XXXXXX")
	truncate -s "${size}M" "$img"
	dev=$(losetup --find --show "$@" "$img") || fail "losetup failed for $img"
	[ -b "$dev" ] || fail "loop device $dev did not appear"
	echo "$dev"
}

# loop_remove DEV: detach the loop device DEV (from loop_create) and delete
# its backing file.
loop_remove() {
	local img
	img=$(losetup --noheadings -O BACK-FILE "$1" 2>/dev/null | sed 's/ *$//') || true
	losetup -d "$1" || fail "cannot detach $1"
	[ -z "$img" ] || rm -f "$img"
}

# zero_create NAME SECTORS: create a dm `zero` device NAME of SECTORS 512-byte
# sectors (/dev/mapper/NAME).
zero_create() {
	dmsetup create "$1" --table "0 $2 zero" || fail "cannot create zero device $1"
	[ -b "/dev/mapper/$1" ] || fail "/dev/mapper/$1 did not appear"
}

# dm_remove_all: remove every device-mapper device, dmp ones included, detach
# the loop devices of loop_create, unload brd and dmp; meant for
# `trap dm_remove_all EXIT` so that a failing case leaves nothing behind.
# Never fails.
dm_remove_all() {
	local i
	for i in 1 2 3; do
		[ "$(dmsetup ls 2>/dev/null)" == "No devices found" ] && break
		dmsetup remove_all >/dev/null 2>&1 || dmsetup remove_all --force >/dev/null 2>&1 || sleep 1
	done
	[[ $(losetup -a 2>/dev/null) != *"$TMPDIR"* ]] || losetup -D 2>/dev/null
	[ "${DMP_KEEP_DRIVERS:-0}" = 1 ] || [ ! -d /sys/module/brd ] || rmmod brd 2>/dev/null || true
	[ ! -d /sys/module/dmp ] || rmmod dmp 2>/dev/null || true
	return 0
}

# blk_stat NAME: the block layer's I/O statistics of the device-mapper device
# NAME, the fields of /sys/block/dm-N/stat space-separated
# (Documentation/block/stat.rst): field 1 = reads completed, 3 = sectors
# read, 5 = writes completed, 7 = sectors written, 12 = discards completed
# (4.18+), 16 = flushes completed (5.5+).
blk_stat() {
	awk '{ $1 = $1; print }' "/sys/block/$(dm_kname "$1")/stat"
}

# blk_stat_field KNAME N: field N (numbered as above) of /sys/block/KNAME/stat
# for any block device by kernel name (dm-0, loop0, ram0); prints nothing if
# the kernel's stat file has fewer fields.
blk_stat_field() {
	[ -f "/sys/block/$1/stat" ] || fail "no block device $1"
	awk -v n="$2" '{ if (n <= NF) print $n }' "/sys/block/$1/stat"
}

# summary_text READS READ_BYTES WRITES WRITE_BYTES: the exact text dmp's
# `summary` file must hold for these counts (SPEC.md section 3: averages are
# floor(bytes / count), 0 for no requests; one tab before indented lines).
summary_text() {
	local r=$1 rb=$2 w=$3 wb=$4 t=$(($1 + $3)) tb=$(($2 + $4))
	printf 'read:\n\treqs: %d\n\tavg size: %d\n' "$r" $((r ? rb / r : 0))
	printf 'write:\n\treqs: %d\n\tavg size: %d\n' "$w" $((w ? wb / w : 0))
	printf 'total:\n\treqs: %d\n\tavg size: %d\n' "$t" $((t ? tb / t : 0))
}

# kmsg_mark: write a unique marker line into the kernel log and print it;
# keep it for kmsg_since.   mark=$(kmsg_mark)
kmsg_mark() {
	local m="dmp-test: mark $$-$RANDOM$RANDOM"
	echo "$m" >/dev/kmsg
	echo "$m"
}

# kmsg_since MARK: print the kernel log lines written after MARK (as printed
# by kmsg_mark), without their timestamps. All of the log if MARK is gone.
kmsg_since() {
	dmesg | awk -v m="$1" '
		{ line[NR] = $0 } index($0, m) { start = NR }
		END { for (i = start + 1; i <= NR; i++) print line[i] }' |
		sed 's/^\[[ 0-9.]*\] //'
}

# dd_direct ARGS...: dd with the flags that make a write or read reach the
# device as the bios one asks for (O_DIRECT), quietly.
dd_direct() {
	dd status=none "$@"
}

# uevent_listen FILE: record "ACTION DEVPATH" of each kernel uevent with
# SUBSYSTEM=dmp into FILE (python3 on the kernel's uevent netlink socket, as
# udevadm monitor --kernel does) until uevent_stop. Waits (up to 60 s: a
# busy guest starts python3 slowly) until the listener's socket is bound.
uevent_listen() {
	python3 -u - "$1" <<'PY' &
import select, signal, socket, sys
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
s = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 15)  # NETLINK_KOBJECT_UEVENT
s.bind((0, 1))
out = open(sys.argv[1], "w", buffering=1)
def record(data):
    msg = data.split(b"\0")
    env = dict(x.split(b"=", 1) for x in msg[1:] if b"=" in x)
    if env.get(b"SUBSYSTEM") == b"dmp":
        out.write("%s %s\n" % (env[b"ACTION"].decode(), env[b"DEVPATH"].decode()))
open(sys.argv[1] + ".ready", "w").close()
while not stop:
    if select.select([s], [], [], 0.2)[0]:
        record(s.recv(65536))
# SIGTERM (uevent_stop): the kernel queues an event on the socket before the
# action that sent it returns, so every event sent before the SIGTERM is
# there: take them all, however late this process got to run
s.setblocking(False)
while True:
    try:
        record(s.recv(65536))
    except BlockingIOError:
        break
PY
	UEVENT_PID=$!
	UEVENT_FILE=$1
	wait_for 60 uevent_ready_or_gone || true
	[ -e "$1.ready" ] || fail "the uevent listener did not start"
}
uevent_ready_or_gone() { [ -e "$UEVENT_FILE.ready" ] || ! kill -0 "$UEVENT_PID" 2>/dev/null; }

# uevent_stop: stop the listener of uevent_listen; it records every event
# sent until then before it exits (no grace period to guess).
uevent_stop() {
	kill "$UEVENT_PID"
	wait "$UEVENT_PID" 2>/dev/null || true
	rm -f "$UEVENT_FILE.ready"
}

# ioctl_discard DEV OFFSET LEN / ioctl_write_zeroes DEV OFFSET LEN: one
# BLKDISCARD ioctl, or one fallocate(PUNCH_HOLE|KEEP_SIZE) (which the block
# layer turns into REQ_OP_WRITE_ZEROES without falling back to writes),
# issued directly: blkdiscard and fallocate(1) also probe or sync the device.
ioctl_discard() {
	python3 - "$@" <<'PY'
import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
fcntl.ioctl(fd, 0x1277, struct.pack("QQ", int(sys.argv[2]), int(sys.argv[3])))  # BLKDISCARD
PY
}

ioctl_write_zeroes() {
	python3 - "$@" <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
# fallocate64: 64-bit offsets on 32-bit userlands too (there fallocate's are 32-bit)
falloc = libc.fallocate64
falloc.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong]
fd = os.open(sys.argv[1], os.O_WRONLY)
if falloc(fd, 3, int(sys.argv[2]), int(sys.argv[3])):  # PUNCH_HOLE | KEEP_SIZE
    raise OSError(ctypes.get_errno(), "fallocate")
PY
}

# read_direct DEV OFFSET LEN: LEN bytes of DEV from byte OFFSET, read with
# O_DIRECT (not from a page cache that I/O through dmp bypassed); 4 KiB aligned
read_direct() {
	dd if="$1" bs=4096 skip=$(($2 / 4096)) count=$(($3 / 4096)) iflag=direct status=none
}

# --- helpers of the stress cases (tests/stress/) ------------------------------

# fio_totals JSON...: "READS READ_BYTES WRITES WRITE_BYTES" summed over all
# jobs of fio's --output-format=json outputs (of one run or several; fio
# counts its verify reads as reads), then "ERRORS": the jobs' error fields
# added up. Lines before the JSON (fio's notes) are skipped.
fio_totals() {
	python3 - "$@" <<'PY' || fail "no fio totals in $*: see above"
import json, sys
r = rb = w = wb = err = 0
for name in sys.argv[1:]:
    text = open(name).read()
    try:
        jobs = json.loads(text[text.index("{"):])["jobs"]
    except (ValueError, KeyError):
        sys.exit("%s: %s" % (name, text[:2000]))
    for j in jobs:
        r += j["read"]["total_ios"]; rb += j["read"]["io_bytes"]
        w += j["write"]["total_ios"]; wb += j["write"]["io_bytes"]
        err += j.get("error", 0)
print(r, rb, w, wb, err)
PY
}

# expect_blk_agrees NAME: fail unless the counts of the dmp device NAME (a
# device whose table is dmp targets only) agree with the block layer's
# /sys/block/dm-N/stat: reads = read_cnt, writes = write_cnt + flush_cnt +
# write_zeroes_cnt, discards = discard_cnt (SPEC.md section 2). Reads the
# files with builtins (every exec is slow under TCG).
expect_blk_agrees() {
	local dm st s r w fl wz dc
	dm=$(dm_kname "$1")
	st=/sys/module/dmp/stat/$dm
	[ -d "$st" ] || fail "no statistics directory $st for $1"
	read -ra s <"/sys/block/$dm/stat"
	read -r r <"$st/read_cnt"
	read -r w <"$st/write_cnt"
	read -r fl <"$st/flush_cnt"
	read -r wz <"$st/write_zeroes_cnt"
	read -r dc <"$st/discard_cnt"
	expect_eq "$1: reads of /sys/block/$dm/stat = read_cnt" "${s[0]}" "$r"
	expect_eq "$1: writes of /sys/block/$dm/stat = write_cnt + flush_cnt + write_zeroes_cnt" \
		"${s[4]}" $((w + fl + wz))
	[ ${#s[@]} -lt 12 ] || expect_eq "$1: discards of /sys/block/$dm/stat = discard_cnt" "${s[11]}" "$dc"
}

# wait_for SECONDS COMMAND...: run COMMAND every 0.1 s until it succeeds;
# returns non-zero if it still fails after SECONDS.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.1
	done
}

# lines_at_least FILE N: FILE has N lines or more (for wait_for: a sampler
# such as dmpstat -j INTERVAL has written a report more)
lines_at_least() {
	[ "$(wc -l <"$1")" -ge "$2" ]
}

# meminfo_kib FIELD: FIELD of /proc/meminfo (SUnreclaim, Percpu, ...) in KiB.
meminfo_kib() {
	awk -v f="$1:" '$1 == f { print $2 }' /proc/meminfo
}

# dio_mix DEV AMOUNT SEED WRITE_PCT SPAN_BYTES: O_DIRECT requests on DEV, one
# bio each, of 512 B, 4, 8 or 64 KiB at offsets aligned to their size below
# SPAN_BYTES, WRITE_PCT % of them writes of random data, chosen by a random
# generator seeded with SEED. AMOUNT: COUNT requests; or SECONDSs ("3s"): as
# many as fit in SECONDS; or MINs..MAXs ("3.5s..60s"): for MIN seconds, and
# on until reads and writes have each both failed and succeeded, for at
# most MAX seconds in all (a device below that fails by time, such as
# flakey's up/down intervals: how many requests a busy guest issues in an
# interval is not known). Prints what the caller saw:
#   READS READ_ERRORS WRITES WRITE_ERRORS READ_BYTES WRITE_BYTES
# (the bytes of every request issued, failed or not). A failure other than
# EIO, or a short transfer, fails the case.
dio_mix() {
	python3 - "$@" <<'PY' || fail "dio_mix $*: unexpected result"
import errno, mmap, os, random, sys, time
dev, amount, seed, wpct, span = sys.argv[1:6]
seed, wpct, span = int(seed), int(wpct), int(span)
mixed = ".." in amount
if mixed:
    least, amount = amount.split("..")
    least = time.monotonic() + float(least[:-1])
end = time.monotonic() + float(amount[:-1]) if amount.endswith("s") else None
count = None if end else int(amount)
rnd = random.Random(seed)
fd = os.open(dev, os.O_RDWR | os.O_DIRECT)
buf = mmap.mmap(-1, 65536)
r = re = w = we = rb = wb = 0
i = 0
while (time.monotonic() < end) if end else (i < count):
    if mixed and 0 < re < r and 0 < we < w and time.monotonic() >= least:
        break
    i += 1
    size = rnd.choice([512, 4096, 8192, 65536])
    off = rnd.randrange(0, span // size) * size
    write = rnd.randrange(100) < wpct
    mv = memoryview(buf)[:size]
    try:
        if write:
            w += 1; wb += size
            buf[:size] = rnd.randbytes(size)
            n = os.pwritev(fd, [mv], off)
        else:
            r += 1; rb += size
            n = os.preadv(fd, [mv], off)
        if n != size:
            sys.exit("short transfer: %d of %d bytes at %d" % (n, size, off))
    except OSError as e:
        if e.errno != errno.EIO:
            sys.exit("unexpected error at %d: %s" % (off, e))
        if write:
            we += 1
        else:
            re += 1
    del mv
print(r, re, w, we, rb, wb)
PY
}
