/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmpstat: report the I/O counted by the dmp device-mapper target.
 *
 * The pieces, one concern per file:
 *   main.c    command line, the sampling loop, --reset
 *   util.c    fatal(), flush_stdout(), memory, the clock: used by all
 *   sample.c  reading /sys/module/dmp/stat and /proc/diskstats into a sample
 *   parse.c   parsers of those files' contents and of numbers (no I/O; fuzzed)
 *   hist.c    histograms: their changes, quantiles
 *   delta.c   matching two samples and computing what changed in between
 *   output.c  text and JSON reports
 *   prom.c    Prometheus text exposition format
 *   attach.c  --attach/--detach: linear <-> dmp on a live device
 *   histctl.c --histograms on|off: a dm message to dmp devices
 *   dm.c      the device-mapper ioctls they use (dm.h)
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

/*
 * The histograms of a device (README.md, "Histograms"): latency of reads and
 * of writes (bounds in microseconds, sums in nanoseconds) and their sizes
 * (bytes). Count i of a histogram of n bounds is the number of requests of
 * value v with bound[i-1] < v <= bound[i] (v <= bound[0] for i = 0), count
 * n those above the last bound: Prometheus' le buckets, not cumulative.
 */
enum { H_READ_LAT, H_WRITE_LAT, H_READ_SIZE, H_WRITE_SIZE, NHIST };
#define HIST_IS_SIZE(k) ((k) >= H_READ_SIZE)
#define HIST_MAX_BOUNDS 128	/* per kind; the module has 26 and 14 */

/* "read_latency", ... as in the file */
extern const char *const hist_names[NHIST];

/* A histograms file as parse_histograms() found it. */
struct hist_file {
	bool on;
	unsigned int nbounds[2];	/* latency, size */
	uint64_t bound[2][HIST_MAX_BOUNDS];
	uint64_t count[NHIST][HIST_MAX_BOUNDS + 1];
	uint64_t sum[NHIST];
};
#define HIST_NBOUNDS(f, k) ((f)->nbounds[HIST_IS_SIZE(k)])

/* One histogram, pointing into a struct hists or a caller's buffer. */
struct histo {
	unsigned int n;		/* bounds: n + 1 counts */
	const uint64_t *bound;
	const uint64_t *count;
	uint64_t sum;		/* of the values: ns or bytes */
	uint64_t total;		/* of the counts: requests */
};

/* A device's four histograms, in one allocation (hists_new()). */
struct hists {
	struct histo h[NHIST];
	uint64_t data[];	/* bounds and counts */
};

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
	struct hists *hist;	/* NULL: off, not read, or an older module */
};

/* One sample of every dmp device, sorted by dev_cmp(): dm-N by N, all_devs last. */
struct sample {
	struct dev *dev;
	size_t n, cap;
	bool loaded;		/* /sys/module/dmp/stat existed */
	bool hist_files;	/* histograms read, and the module has them */
	double mono;		/* when it was taken, seconds (CLOCK_MONOTONIC) */
	struct timespec wall;	/* the same moment, CLOCK_REALTIME */
};

int dev_cmp(const void *a, const void *b);

/* sample.c */
struct source {
	const char *root;	/* prefix of /sys and /proc: "" for / */
	bool test_seq;		/* DMPSTAT_TEST_SEQ: sample k reads ROOT/k/ and ROOT/k/clock */
	bool hist;		/* read the histograms files too */
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
int parse_histograms(const char *buf, size_t len, struct hist_file *h,
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

/* hist.c */
struct hists *hists_new(const struct hist_file *f);
bool hists_follow(const struct hists *prev, const struct hists *cur);
/* out = cur - prev (prev NULL: cur), its counts in buf (cur->n + 1 of them) */
void histo_sub(const struct histo *cur, const struct histo *prev,
	       uint64_t *buf, struct histo *out);
/* the q-quantile (0 < q < 1) in the unit of the bounds, see hist.c */
double histo_quantile(const struct histo *h, double q);
/* the last bucket with a request (n: above the last bound), or -1 */
int histo_max(const struct histo *h);

/* delta.c: what one device did between two samples */
struct dev_delta {
	const struct dev *cur;
	bool restarted;		/* new, reset or kernel name reused: since then */
	uint64_t c[NCOUNTERS];
	bool has_disk;
	struct disk_stats disk;
	/* the histograms' change is cur->hist - hist_prev (see delta_histo) */
	const struct hists *hist_prev;	/* NULL: since they were switched on or reset */
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
/* histogram k's change over the interval into out (its counts in buf,
 * HIST_MAX_BOUNDS + 1); false when the device has none */
bool delta_histo(const struct dev_delta *d, int k, uint64_t *buf,
		 struct histo *out);

/* output.c */
struct out_opts {
	bool json, human, timestamp;
	bool latency;		/* --latency: percentile columns (or members) */
	bool hist;		/* --hist: bar histograms after each text report */
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

/* histctl.c: --histograms on|off devs; the exit status */
int histctl_main(bool on, int n, char *const *devs);

/* util.c */
_Noreturn void fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
void flush_stdout(void);
void *xrealloc(void *p, size_t n, size_t size);
void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);
double now_mono(void);	/* CLOCK_MONOTONIC, seconds */

#endif
