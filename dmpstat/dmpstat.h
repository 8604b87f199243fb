/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmpstat: report the I/O counted by the dmp device-mapper target.
 *
 * The pieces, one concern per file:
 *   main.c    command line, the sampling loop, --reset
 *   sample.c  reading /sys/module/dmp/stat and /proc/diskstats into a sample
 *   parse.c   parsers of those files' contents and of numbers (no I/O; fuzzed)
 *   delta.c   matching two samples and computing what changed in between
 *   output.c  text and JSON reports
 *   prom.c    Prometheus text exposition format
 *   attach.c  --attach/--detach: linear <-> dmp on a live device (dm ioctls)
 */
#ifndef DMPSTAT_H
#define DMPSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The raw counters of a `stat` file, in its order (that of dmsetup status). */
enum {
	C_READS,
	C_READ_BYTES,
	C_WRITES,
	C_WRITE_BYTES,
	C_DISCARDS,
	C_DISCARD_BYTES,
	C_WRITE_ZEROES,
	C_FLUSHES,
	C_ERRORS,
	NCOUNTERS
};

/* Their names in JSON ("reads") and Prometheus ("dmp_reads_total"). */
extern const char *const counter_names[NCOUNTERS];

/* The block layer's counters of a dm-N used for r_await, w_await, aqu-sz and
 * %util (fields 1, 4, 5, 8, 10 and 11 of Documentation/block/stat.rst). */
struct disk_stats {
	uint64_t rd_ios, rd_ticks, wr_ios, wr_ticks, io_ticks, time_in_queue;
};

#define DM_NAME_MAX 128		/* DM_NAME_LEN: 127 characters and a NUL */
#define KNAME_MAX 24		/* "dm-4294967295", "all_devs" */
#define ALL_DEVS "all_devs"
#define ALL_DEVS_MINOR (-1L)	/* sorts after every dm-N, see dev_cmp() */

struct dev {
	char kname[KNAME_MAX];	/* dm-N, or all_devs */
	long minor;		/* N, or ALL_DEVS_MINOR */
	char name[DM_NAME_MAX];	/* device-mapper name; "" for all_devs */
	uint64_t c[NCOUNTERS];
	bool has_disk;		/* found in /proc/diskstats */
	struct disk_stats disk;
};

/* One sample of every dmp device, sorted by dev_cmp(): dm-N by N, all_devs last. */
struct sample {
	struct dev *dev;
	size_t n, cap;
	bool loaded;		/* /sys/module/dmp/stat existed */
	double mono;		/* when it was taken, seconds (CLOCK_MONOTONIC) */
	struct timespec wall;	/* the same moment, CLOCK_REALTIME */
};

int dev_cmp(const void *a, const void *b);

/* sample.c */
struct source {
	const char *root;	/* prefix of /sys and /proc: "" for / */
	bool test_seq;		/* DMPSTAT_TEST_SEQ: sample k reads ROOT/k/ and ROOT/k/clock */
	unsigned int next;	/* number of the next sample */
};
void sample_take(struct source *src, struct sample *s);
void sample_free(struct sample *s);
/* write "1" to the reset file of kname; 0 or an errno value */
int reset_write(const struct source *src, const char *kname);

/* parse.c: every parser returns 0, or -1 and sets *why to a short reason */
int parse_u64(const char **p, const char *end, uint64_t *v);
int parse_dmp_stat(const char *buf, size_t len, uint64_t c[NCOUNTERS],
		   const char **why);
int parse_name(const char *buf, size_t len, char *out, size_t outsz,
	       const char **why);
int parse_kname(const char *s, long *minor);
int parse_block_stat(const char *buf, size_t len, struct disk_stats *d,
		     const char **why);
/* each dm-N line of /proc/diskstats goes to fn; error on a malformed line */
typedef void (*diskstats_fn)(void *arg, long minor, const struct disk_stats *d);
int parse_diskstats(const char *buf, size_t len, diskstats_fn fn, void *arg,
		    const char **why);
int parse_interval(const char *s, double *secs);
int parse_count(const char *s, unsigned long *count);

/* delta.c: what one device did between two samples */
struct dev_delta {
	const struct dev *cur;
	bool restarted;		/* new, reset or kernel name reused: since then */
	uint64_t c[NCOUNTERS];
	bool has_disk;
	struct disk_stats disk;
};
struct rates {
	double r_s, w_s, rkb_s, wkb_s, rareq_sz, wareq_sz, d_s, f_s, err_s;
	bool has_disk;
	double r_await, w_await, aqu_sz, util;
};
/* for each device of cur accepted by keep(), in order */
typedef bool (*keep_fn)(void *arg, const struct dev *d);
size_t delta_compute(const struct sample *prev, const struct sample *cur,
		     keep_fn keep, void *arg, struct dev_delta **out);
void rates_compute(const struct dev_delta *d, double secs, struct rates *r);

/* output.c */
struct out_opts {
	bool json, human, timestamp;
};
void out_totals(const struct out_opts *o, const struct sample *s,
		const struct dev *const *devs, size_t n);
void out_interval(const struct out_opts *o, const struct sample *s,
		  double secs, const struct dev_delta *d, size_t n);
/* s as a JSON string, quoted and escaped, on stdout */
void json_string(const char *s);

/* prom.c */
void out_prometheus(const struct sample *s, const struct dev *const *devs,
		    size_t n);

/* attach.c: --attach (true) or --detach of devs; the exit status */
int attach_main(bool attach, int n, char *const *devs);

/* main.c */
_Noreturn void fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
void flush_stdout(void);

#endif
