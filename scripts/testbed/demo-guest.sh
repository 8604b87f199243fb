#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo-guest.sh: the part of `make demo` that runs inside the guest (see
# demo.sh). Shows dmp at work: devices over dm-zero and a RAM disk, the seed
# example, a short fio job, the statistics, a mounted LVM volume switched to
# dmp and back live (dmpstat --attach/--detach). Echoes each command before its
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

say "live attach: an LVM volume with a mounted filesystem, counted by dmp and back (dmpstat --attach)"
# LVM without udev (none in this VM), seeing only the two loop devices
mkdir -p /tmp/lvm
cat >/tmp/lvm/lvm.conf <<'CONF'
devices { obtain_device_list_from_udev=0 use_devicesfile=0 filter=["a|^/dev/loop[67]$|","r|.*|"] }
activation { udev_sync=0 udev_rules=0 verify_udev_operations=1 monitoring=0 }
CONF
export LVM_SYSTEM_DIR=/tmp/lvm PATH=$PWD/dmpstat:$PATH
run 'modprobe loop && truncate -s 64M /tmp/pv6 /tmp/pv7 && losetup /dev/loop6 /tmp/pv6 && losetup /dev/loop7 /tmp/pv7'
run 'vgcreate -q demo /dev/loop6 /dev/loop7'
run 'lvcreate -q -y -n home -L 40m demo /dev/loop6 && lvextend -q -L +20m demo/home /dev/loop7'
run 'mkfs.ext4 -q /dev/mapper/demo-home && mkdir -p /mnt/home && mount /dev/mapper/demo-home /mnt/home'
run 'dmsetup table demo-home'
run 'fio --name=home --directory=/mnt/home --size=16m --bs=4k --rw=randwrite --direct=1 --fsync=16 \
	--verify=crc32c --verify_backlog=64 --verify_fatal=1 --verify_state_save=0 --time_based --runtime=20 \
	>/tmp/fio.out 2>&1 & echo $! >/tmp/fio.pid; sleep 2'
run 'dmpstat --attach demo-home'
run 'dmsetup table demo-home'
run 'dmpstat -y demo-home 2 2'
run 'dmpstat --attach demo-home'
run 'dmpstat --detach /dev/mapper/demo-home'
run 'dmsetup table demo-home'
run 'while kill -0 $(cat /tmp/fio.pid) 2>/dev/null; do sleep 1; done; grep -E "err=|IOPS" /tmp/fio.out'
run 'umount /mnt/home && e2fsck -f -n /dev/mapper/demo-home'
run 'vgremove -q -f demo && losetup -d /dev/loop6 /dev/loop7 && rm /tmp/pv6 /tmp/pv7'

say "clean up"
run 'dmsetup remove dmp1 dmp2 zero1'
run 'rmmod brd'
run 'rmmod dmp'
run 'ls /sys/module/dmp 2>&1 || true'
say "demo done"
