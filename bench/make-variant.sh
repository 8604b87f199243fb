#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/make-variant.sh VARIANT DIR - a modified copy of dmp/ in DIR, for
# bench/variants.sh and the self-test of scripts/request-path.sh:
#
#   dmp     dmp/ as it is
#   noend   without the completion hook (.end_io): errors are not counted
#   bare    without the hook and without counting: a pass-through like linear
#   atomic  every CPU counts into one shared copy of the counters (CPU 0's)
#           with atomic64 adds (what most public dmp modules do)
#   lock    every CPU counts into that copy under one spinlock (the seed's
#           design)
#   nosync32  the counting of 32-bit kernels as it was before their
#           u64_stats_sync: this_cpu_inc/add of the u64 counters, which a
#           reader can see half done (for scripts/counters32.sh)
#   leak    16 bytes allocated in every table's constructor and never freed
#           (tests/stress/005 must fail on it)
#   nohist  without the histograms' hooks (map's and end_io's test of
#           DMP_HIST_ON, the per-bio data): what they cost while off
#
# Each edit must apply, or the variant would silently be dmp itself.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -eq 2 ] || { echo "usage: make-variant.sh VARIANT DIR" >&2; exit 2; }
v=$1 d=$2
case $v in dmp | noend | bare | atomic | lock | nosync32 | leak | nohist) ;; *)
	echo "make-variant: unknown variant $v (dmp noend bare atomic lock nosync32 leak nohist)" >&2; exit 2 ;;
esac

edit() { # edit FILE SED-EXPRESSION PATTERN-THAT-MUST-BE-GONE
	sed -i "$2" "$1"
	! grep -q "$3" "$1" || { echo "make-variant: $v: edit of $1 did not apply" >&2; exit 1; }
}

rm -rf "$d"
mkdir -p "$(dirname "$d")"
cp -r "$top/dmp" "$d"
case $v in
dmp) ;;
noend | bare)
	edit "$d/dmp_target.c" '/^\t\.end_io = dmp_end_io,$/d' '\.end_io = dmp_end_io'
	sed -i 's/^static int dmp_end_io(/static __maybe_unused int dmp_end_io(/' "$d/dmp_target.c"
	[ "$v" = noend ] ||
		edit "$d/dmp_target.c" '/^\tdmp_count_bio(dt->stats, bio);$/d' 'dmp_count_bio(dt->stats, bio)'
	;;
atomic)
	edit "$d/dmp.h" 's/^\tthis_cpu_inc(o->reqs);$/\tatomic64_inc((atomic64_t *)per_cpu_ptr(\&o->reqs, 0));/' 'this_cpu_inc(o->reqs)'
	edit "$d/dmp.h" 's/^\tthis_cpu_add(o->bytes, size);$/\tatomic64_add(size, (atomic64_t *)per_cpu_ptr(\&o->bytes, 0));/' 'this_cpu_add(o->bytes'
	;;
lock)
	edit "$d/dmp.h" 's/^\tthis_cpu_inc(o->reqs);$/\tspin_lock(\&dmp_bench_lock);\n\t*per_cpu_ptr(\&o->reqs, 0) += 1;/' 'this_cpu_inc(o->reqs)'
	edit "$d/dmp.h" 's/^\tthis_cpu_add(o->bytes, size);$/\t*per_cpu_ptr(\&o->bytes, 0) += size;\n\tspin_unlock(\&dmp_bench_lock);/' 'this_cpu_add(o->bytes'
	sed -i 's/^static __always_inline void dmp_count_bio(/static __maybe_unused DEFINE_SPINLOCK(dmp_bench_lock);\n&/' "$d/dmp.h"
	;;
nosync32)
	edit "$d/dmp.h" 's/^#if BITS_PER_LONG == 32$/#if 0 \/* nosync32 *\//' '^#if BITS_PER_LONG == 32$'
	;;
leak)
	edit "$d/dmp_target.c" 's/^\tdt = kzalloc(sizeof(\*dt), GFP_KERNEL);$/\tdt = kzalloc(sizeof(*dt), GFP_KERNEL);\n\tdmp_leaked = kmalloc(16, GFP_KERNEL); \/* leak *\//' '^\tdt = kzalloc(sizeof(\*dt), GFP_KERNEL);$'
	sed -i 's/^static int dmp_ctr(/static void *dmp_leaked;\n&/' "$d/dmp_target.c"
	;;
nohist)
	edit "$d/dmp_target.c" '/^\tif (unlikely((unsigned long)READ_ONCE(ti->private) & DMP_HIST_ON))$/{N;d}' 'return dmp_hist_map(dt, bio);'
	edit "$d/dmp_target.c" '/^\tif (unlikely((unsigned long)READ_ONCE(ti->private) & DMP_HIST_ON) ||$/{N;s/.*/\tif (unlikely(*error))/}' 'DMP_HIST_ON) ||$'
	edit "$d/dmp_target.c" '/^\tti->per_io_data_size = sizeof(struct dmp_bio);$/d' 'per_io_data_size'
	;;
esac
