#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo-guest.sh: the part of `make demo` that runs inside the guest (see
# demo.sh). Shows dmp at work: devices over dm-zero and a RAM disk, the seed
# example, a short fio job, the statistics. Echoes each command before its
# output. Stops at the first failing command.

set -euo pipefail
export DM_DISABLE_UDEV=1

run() { # run 'COMMAND LINE': show it, then run it
	printf '\n$ %s\n' "$1"
	bash -c "set -euo pipefail; $1"
}
say() { printf '\n=== %s\n' "$*"; }

say "dmp on Linux $(uname -r), $(nproc) vCPUs"
run 'modprobe dmp'
run 'modinfo -F version dmp'
run 'dmsetup targets | grep dmp'

say "a dmp device over dm-zero, the seed example"
run 'dmsetup create zero1 --table "0 2097152 zero"'
run 'dmsetup create dmp1 --table "0 2097152 dmp /dev/mapper/zero1"'
run 'dd if=/dev/random of=/dev/mapper/dmp1 bs=4k count=1 oflag=direct'
run 'cat /sys/module/dmp/stat/all_devs/summary'

say "a dmp device over a 256 MiB RAM disk (brd) and a short fio job on it"
run 'modprobe brd rd_nr=1 rd_size=262144 max_part=0'
run 'dmsetup create dmp2 --table "0 $(blockdev --getsz /dev/ram0) dmp /dev/ram0"'
run 'fio --name=demo --filename=/dev/mapper/dmp2 --direct=1 --ioengine=libaio --iodepth=8 \
	--rw=randrw --rwmixread=70 --bs=4k --size=64M --runtime=5 --time_based \
	--group_reporting | grep -E "^ *(read|write): IOPS|^ *(READ|WRITE):" || true'

say "the statistics"
run 'ls -l /sys/module/dmp/stat/'
run 'cat /sys/module/dmp/stat/dmp1/summary'
run 'cat /sys/module/dmp/stat/dmp2/summary'
run 'cat /sys/module/dmp/stat/all_devs/summary'
run 'dmsetup status'
run 'dmsetup table'

say "clean up"
run 'dmsetup remove dmp1 dmp2 zero1'
run 'rmmod brd'
run 'rmmod dmp'
run 'ls /sys/module/dmp 2>&1 || true'
say "demo done"
