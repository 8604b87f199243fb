# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# tests/attach/lib.sh: helpers of the --attach/--detach cases (sourced after
# tests/lib.sh). An LVM volume group "vgat" on the brd disks /dev/ram0 and
# /dev/ram1, LVM run without udev (as in tests/dm/004), and an ext4 LV on it.

dmpstat_need

lvm_cfg='devices { obtain_device_list_from_udev=0 use_devicesfile=0 filter=["a|^/dev/ram[01]$|","r|.*|"] }
activation { udev_sync=0 udev_rules=0 verify_udev_operations=1 monitoring=0 }'
lvm_() { lvm "$1" --config "$lvm_cfg" "${@:2}"; }

MNT=$TMPDIR/mnt

# lv_setup MIB0 MIB1: brd disks, VG vgat, LV vgat-lv of MIB0 MiB on ram0 then
# MIB1 MiB on ram1 (a table of two linear segments), ext4 mounted on $MNT.
lv_setup() {
	brd_load 64 2
	lvm_ pvcreate -q /dev/ram0 /dev/ram1 >/dev/null
	lvm_ vgcreate -q -s 4m vgat /dev/ram0 /dev/ram1 >/dev/null
	lvm_ lvcreate -q -y -Zy -Wn -n lv -L "${1}m" vgat /dev/ram0 >/dev/null
	lvm_ lvextend -q -L "+${2}m" vgat/lv /dev/ram1 >/dev/null
	LV=/dev/mapper/vgat-lv
	[ -b "$LV" ] || fail "no $LV after lvcreate"
	expect_eq "LV table types" "linear
linear" "$(dmsetup table vgat-lv | awk '{ print $3 }')"
	mkfs.ext4 -q -F "$LV"
	mkdir -p "$MNT"
	mount -t ext4 "$LV" "$MNT"
	LVK=$(dm_kname vgat-lv)
}

# lv_cleanup: stop fio, umount, remove the VG and PVs, every dm device, brd, dmp.
lv_cleanup() {
	[ -z "${FIO_PID:-}" ] || { kill "$FIO_PID" 2>/dev/null; kill -CONT "$FIO_PID" 2>/dev/null; wait "$FIO_PID" 2>/dev/null; } || true
	umount "$MNT" 2>/dev/null || true
	lvm_ vgchange -q -an vgat >/dev/null 2>&1 || true
	lvm_ vgremove -q -f vgat >/dev/null 2>&1 || true
	lvm_ pvremove -q /dev/ram0 /dev/ram1 >/dev/null 2>&1 || true
	dm_remove_all
}

# types NAME: the target types of NAME's live table, space-separated
types() { dmsetup table "$1" | awk '{ printf "%s%s", sep, $3; sep = " " }'; }

# expect_untouched NAME TABLE: NAME's live table is TABLE, it is active and
# has no inactive table.
expect_untouched() {
	expect_eq "$1: table" "$2" "$(dmsetup table "$1")"
	local info
	info=$(dmsetup info "$1")
	expect_eq "$1: state" ACTIVE "$(awk '/^State:/ { print $2 }' <<<"$info")"
	grep -q '^Tables present: *LIVE$' <<<"$info" ||
		fail "$1: $(grep -E '^(State|Tables)' <<<"$info")"
}

# fio_start FILE SECS [ARGS...]: fio with crc32c verification writing and
# re-reading FILE (direct, with fsyncs) for SECS seconds, or until fio_stop,
# in the background (one process: --thread); FIO_PID, output in FILE.fio.
# A case that needs fio running while it does its steps passes a SECS
# longer than its TIMEOUT and calls fio_stop once done: on a busy guest its
# steps take many times longer than on an idle one.
fio_start() {
	local f=$1 secs=$2
	shift 2
	# the trigger file ends fio as its runtime would (exit status 0); fio
	# then saves a verify state file, in --aux-path (the tree is read-only)
	FIO_STOP=$TMPDIR/fio.stop
	rm -f "$FIO_STOP"
	mkdir -p "$TMPDIR/fio.aux"
	fio --name=at --thread --filename="$f" --size=16m --bs=4k --rw=randwrite \
		--ioengine=psync --direct=1 --fsync=16 --verify=crc32c \
		--verify_backlog=64 --verify_fatal=1 --verify_state_save=0 --time_based --runtime="$secs" \
		--trigger-file="$FIO_STOP" --aux-path="$TMPDIR/fio.aux" \
		--output-format=json "$@" >"$f.fio" 2>"$f.fio.err" &
	FIO_PID=$!
}

# fio_stop: end fio_start's fio now, as its runtime would (then fio_wait)
fio_stop() {
	touch "$FIO_STOP"
}

# fio_diag: what fio and the LV are doing, on stderr (for a failure message)
fio_diag() {
	local t
	echo "--- fio $FIO_PID: $(kill -0 "$FIO_PID" 2>/dev/null && echo running || echo gone)" >&2
	for t in /proc/"$FIO_PID"/task/*; do
		[ -e "$t/wchan" ] && echo "  task ${t##*/} $(cat "$t/comm") state $(awk '{ print $3 }' "$t/stat") wchan $(cat "$t/wchan")" >&2
	done
	echo "--- $LVK stat: $(cat "/sys/block/$LVK/stat"), inflight $(cat "/sys/block/$LVK/inflight")" >&2
	dmsetup info vgat-lv | grep -E '^(State|Tables)' >&2 || true
	cat "$MNT/f.fio.err" >&2 2>/dev/null || true
	# was the filesystem left frozen? (thaws it if so)
	if fsfreeze -u "$MNT" 2>/dev/null; then echo "--- $MNT WAS FROZEN" >&2; else echo "--- $MNT not frozen" >&2; fi
}

# fio_running: wait (up to 120 s: fio's start and layout on a busy guest)
# until fio writes to the LV, so that its layout phase is over
fio_running() {
	local w0
	w0=$(blk_stat_field "$LVK" 5)
	wait_for 120 eval '[ $(($(blk_stat_field "$LVK" 5) - w0)) -gt 200 ]' ||
		{ fio_diag; fail "fio does not write to the LV"; }
}

# lv_io_since READS WRITES: the LV's block layer has completed more than 50
# reads and 50 writes since it had completed READS and WRITES
lv_io_since() {
	local s
	read -ra s <"/sys/block/$LVK/stat"
	[ $((s[0] - $1)) -gt 50 ] && [ $((s[4] - $2)) -gt 50 ]
}

# fio_wait: wait for fio_start's fio; fail on any error or verify failure.
fio_wait() {
	local rc=0
	wait "$FIO_PID" || rc=$?
	[ $rc = 0 ] || fail "fio failed ($rc): $(cat "$MNT/f.fio.err"; tail -c 1000 "$MNT/f.fio")"
	read -r _ _ _ _ e <<<"$(fio_totals "$MNT/f.fio")"
	expect_eq "fio errors" 0 "$e"
	! grep -qi "verify\|crc" "$MNT/f.fio.err" || fail "fio: $(cat "$MNT/f.fio.err")"
}

# quiesce KNAME: wait until KNAME has no request in flight
quiesce() {
	local r w i
	for i in $(seq 100); do
		read -r r w <"/sys/block/$1/inflight"
		[ "$r$w" = 00 ] && return 0
		sleep 0.05
	done
	fail "$1 still busy: $r $w in flight"
}

# snap_pair KNAME: "blk-reads blk-writes dmp-reads dmp-writes+flushes+wzeroes"
# with no request in flight, retried until the block layer's stat did not
# change across the read of dmp's and showed nothing in flight then (its
# field 9: quiesce's check comes before, and jbd2 or writeback, which fio's
# SIGSTOP does not stop, may start a request in between: dmp counts it when
# it maps it, the block layer when it completes).
snap_pair() {
	local a b s r w fl wz i
	for i in $(seq 20); do
		quiesce "$1"
		a=$(cat "/sys/block/$1/stat")
		read -r r _ w _ _ _ wz fl _ <"/sys/module/dmp/stat/$1/stat"
		b=$(cat "/sys/block/$1/stat")
		read -ra s <<<"$a"
		if [ "$a" = "$b" ] && [ "${s[8]}" = 0 ]; then
			echo "${s[0]} ${s[4]} $r $((w + fl + wz))"
			return 0
		fi
	done
	fail "$1 never idle long enough to take a snapshot"
}
