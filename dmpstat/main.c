// SPDX-License-Identifier: GPL-2.0
/*
 * dmpstat [options] [DEVICE...] [INTERVAL [COUNT]]: the command line, the
 * choice of devices, the sampling loop and --reset.
 *
 * Exit status: 0 success, 1 runtime error (module not loaded, unknown device,
 * permission denied, malformed file), 2 usage error. A closed stdout (EPIPE)
 * ends dmpstat quietly with 0.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dmpstat.h"
#include "dmp_version.h"

static const char usage_line[] =
	"Usage: dmpstat [options] [DEVICE...] [INTERVAL [COUNT]]\n";

static const char help_text[] =
	"Report the I/O counted by the dmp device-mapper target.\n"
	"\n"
	"Without INTERVAL: one report of the counters since the module was\n"
	"loaded or the device reset. With INTERVAL (seconds, fractions allowed):\n"
	"that report, then one every INTERVAL with the rates over it, COUNT\n"
	"reports in all (default: until interrupted).\n"
	"DEVICE: a device-mapper name, a kernel name (dm-3), /dev/mapper/NAME or\n"
	"all_devs; none: every dmp device, then all_devs.\n"
	"\n"
	"Options:\n"
	"  -j, --json         one JSON document per report, one per line\n"
	"      --prometheus   every counter in Prometheus text format, once\n"
	"  -t, --timestamp    print the time before each text report\n"
	"  -h, --human        sizes and byte rates with units (k, M, G ...)\n"
	"  -y, --omit-first   leave out the report since load/reset (with INTERVAL)\n"
	"      --latency      add read and write latency percentiles p50, p90, p99\n"
	"                     and the top of the highest bucket (max), in ms, from\n"
	"                     the histograms; interpolated in the bucket as\n"
	"                     Prometheus' histogram_quantile(); '-' when off\n"
	"      --hist         after each report, its latency and size histograms\n"
	"                     as bar charts (like bcc's biolatency)\n"
	"      --histograms on|off DEVICE...  switch the latency and size histograms\n"
	"                     of dmp DEVICEs on or off\n"
	"      --reset        zero the counters of the DEVICEs given\n"
	"      --reset-all    zero the counters of every dmp device and all_devs\n"
	"      --attach DEVICE...  swap the linear targets of live DEVICEs to dmp\n"
	"      --detach DEVICE...  swap their dmp targets back to linear\n"
	"      --root DIR     read DIR/sys and DIR/proc instead of /sys and /proc\n"
	"      --help         show this help and exit\n"
	"  -V, --version      show the version and exit\n"
	"\n"
	"Environment: DMPSTAT_ROOT=DIR is --root DIR.\n"
	"Exit status: 0 success, 1 runtime error, 2 usage error.\n"
	"See dmpstat(8).\n";

enum { OPT_PROMETHEUS = 256, OPT_RESET, OPT_RESET_ALL, OPT_ROOT, OPT_HELP,
	OPT_ATTACH, OPT_DETACH, OPT_LATENCY, OPT_HIST, OPT_HISTOGRAMS };

static const struct option long_opts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "prometheus", no_argument, NULL, OPT_PROMETHEUS },
	{ "timestamp", no_argument, NULL, 't' },
	{ "human", no_argument, NULL, 'h' },
	{ "omit-first", no_argument, NULL, 'y' },
	{ "latency", no_argument, NULL, OPT_LATENCY },
	{ "hist", no_argument, NULL, OPT_HIST },
	{ "histograms", required_argument, NULL, OPT_HISTOGRAMS },
	{ "reset", no_argument, NULL, OPT_RESET },
	{ "reset-all", no_argument, NULL, OPT_RESET_ALL },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "attach", no_argument, NULL, OPT_ATTACH },
	{ "detach", no_argument, NULL, OPT_DETACH },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static struct source src;
static struct sample samples[2];

/* SIGINT or SIGTERM during the loop: finish the report, then die of it */
static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

static void stop_if_asked(void)
{
	int sig = stop_signal;

	if (!sig)
		return;
	flush_stdout();
	signal(sig, SIG_DFL);
	raise(sig);
	_exit(128 + sig);
}

/* the DEVICE arguments, sorted, each with whether a device matched it */
static struct {
	const char **arg;
	bool *found;
	size_t n;
} want;

static _Noreturn void usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static _Noreturn void usage_error(const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fputs("dmpstat: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fprintf(stderr, "%sTry 'dmpstat --help' for more information.\n",
		usage_line);
	exit(2);
}

static _Noreturn void not_loaded(void)
{
	fatal("the dmp module is not loaded (no %s/sys/module/dmp/stat): "
	      "load it with 'modprobe dmp'", src.root);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *strip_dev(const char *s)
{
	if (!strncmp(s, "/dev/mapper/", 12))
		return s + 12;
	if (!strncmp(s, "/dev/", 5))
		return s + 5;
	return s;
}

static bool want_match(const char *s)
{
	const char **hit;

	if (!*s)
		return false;
	hit = bsearch(&s, want.arg, want.n, sizeof(*want.arg), str_cmp);
	if (!hit)
		return false;
	want.found[hit - want.arg] = true;
	return true;
}

/* keep_fn: every device when no DEVICE was given, else the ones named */
static bool keep(void *arg, const struct dev *d)
{
	(void)arg;
	if (!want.n)
		return true;
	/* both names are looked at, so found[] is right for each */
	bool k = want_match(d->kname);

	return want_match(d->name) || k;
}

/* The devices of s to report, in order. */
static size_t select_devs(const struct sample *s, const struct dev ***out)
{
	static const struct dev **v;
	static size_t cap;
	size_t i, n = 0;

	if (s->n > cap) {
		cap = s->n;
		v = xrealloc(v, cap, sizeof(*v));
	}
	for (i = 0; i < s->n; i++)
		if (keep(NULL, &s->dev[i]))
			v[n++] = &s->dev[i];
	*out = v;
	return n;
}

static void check_all_found(void)
{
	size_t i;

	for (i = 0; i < want.n; i++)
		if (!want.found[i])
			fatal("unknown device '%s': no dmp device has that "
			      "device-mapper or kernel name", want.arg[i]);
}

static void do_reset(const struct dev *const *devs, size_t n, bool all)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		const struct dev *d = devs[i];
		int e = reset_write(&src, d->kname);

		if (!e || (all && (e == ENOENT || e == ENODEV)))
			continue;
		if (e == EACCES || e == EPERM)
			fatal("cannot reset %s: permission denied (needs root, "
			      "or group disk with the dmp udev rule)", d->kname);
		fprintf(stderr, "dmpstat: cannot reset %s: %s\n", d->kname,
			e == ENOENT || e == ENODEV ? "device went away"
						   : strerror(e));
		rc = 1;
	}
	flush_stdout();
	exit(rc);
}

static void sleep_until(double t)
{
	struct timespec ts;

	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_nsec = 999999999L;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR && !stop_signal)
		;
}

static void interval_loop(const struct out_opts *o, double interval,
			  unsigned long count, bool omit_first)
{
	struct sample *prev = &samples[0], *cur = &samples[1], *t;
	unsigned long reports = 0;
	double deadline = prev->mono;
	/* SA_RESTART: a write blocked on a full pipe goes on (clock_nanosleep
	 * is interrupted all the same, signal(7)) */
	struct sigaction sa = { .sa_handler = on_stop, .sa_flags = SA_RESTART };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!omit_first) {
		const struct dev **devs;
		size_t n = select_devs(prev, &devs);

		out_totals(o, prev, devs, n);
		reports++;
	}
	while (!count || reports < count) {
		struct dev_delta *d;
		size_t n;

		deadline += interval;
		if (!src.test_seq) {
			double now = now_mono();

			if (deadline < now - interval)
				deadline = now;	/* fell behind (suspend): resync */
			sleep_until(deadline);
		}
		stop_if_asked();
		sample_take(&src, cur);
		n = delta_compute(prev, cur, keep, NULL, &d);
		out_interval(o, cur, cur->mono - prev->mono, d, n);
		stop_if_asked();
		reports++;
		t = prev;
		prev = cur;
		cur = t;
	}
}

static const char *root_from(const char *opt)
{
	const char *r = opt ? opt : getenv("DMPSTAT_ROOT");
	size_t len;
	char *c;

	if (!r || !*r)
		return "";
	c = xstrdup(r);
	len = strlen(c);
	while (len > 0 && c[len - 1] == '/')
		c[--len] = '\0';
	return c;
}

int main(int argc, char **argv)
{
	bool prometheus = false, reset = false, reset_all = false;
	bool omit_first = false, have_interval = false;
	int swap = 0;		/* OPT_ATTACH or OPT_DETACH */
	int histograms = -1;	/* --histograms: 1 on, 0 off */
	struct out_opts o = { 0 };
	const char *root_opt = NULL, *e;
	unsigned long count = 0;
	double interval = 0;
	int c, i, nnum = 0;

	argv[0] = (char *)"dmpstat";	/* for getopt's messages */
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);

	while ((c = getopt_long(argc, argv, "jthyV", long_opts, NULL)) != -1) {
		switch (c) {
		case 'j': o.json = true; break;
		case 't': o.timestamp = true; break;
		case 'h': o.human = true; break;
		case 'y': omit_first = true; break;
		case OPT_LATENCY: o.latency = true; break;
		case OPT_HIST: o.hist = true; break;
		case OPT_PROMETHEUS: prometheus = true; break;
		case OPT_RESET: reset = true; break;
		case OPT_RESET_ALL: reset_all = true; break;
		case OPT_ROOT: root_opt = optarg; break;
		case OPT_HISTOGRAMS:
			if (strcmp(optarg, "on") && strcmp(optarg, "off"))
				usage_error("invalid argument '%s' for "
					    "--histograms (on or off)", optarg);
			histograms = !strcmp(optarg, "on");
			break;
		case OPT_ATTACH:
		case OPT_DETACH:
			if (swap && swap != c)
				usage_error("--attach and --detach exclude each other");
			swap = c;
			break;
		case OPT_HELP:
			printf("%s%s", usage_line, help_text);
			flush_stdout();
			return 0;
		case 'V':
			printf("dmpstat %s\n", DMP_VERSION);
			flush_stdout();
			return 0;
		default:
			usage_error(NULL);	/* getopt said what was wrong */
		}
	}

	if (swap || histograms >= 0) {	/* dm ioctls: no other option applies */
		const char *what = histograms >= 0 ? "histograms" :
				   swap == OPT_ATTACH ? "attach" : "detach";

		if (optind >= argc)
			usage_error("--%s needs at least one DEVICE", what);
		if (prometheus || reset || reset_all || o.json || o.timestamp ||
		    o.human || omit_first || o.latency || o.hist || root_opt ||
		    (swap && histograms >= 0))
			usage_error("--%s takes no other option", what);
		if (histograms >= 0)
			return histctl_main(histograms, argc - optind,
					    argv + optind);
		return attach_main(swap == OPT_ATTACH, argc - optind, argv + optind);
	}

	want.arg = xcalloc((size_t)argc, sizeof(*want.arg));
	want.found = xcalloc((size_t)argc, sizeof(*want.found));
	for (i = optind; i < argc; i++) {
		const char *a = argv[i];

		if ((*a >= '0' && *a <= '9') || *a == '.') {
			if (nnum == 0 && parse_interval(a, &interval))
				usage_error("invalid interval '%s' (seconds, "
					    "0.001 to 86400)", a);
			if (nnum == 1 && parse_count(a, &count))
				usage_error("invalid count '%s' (a positive "
					    "integer)", a);
			if (nnum == 2)
				usage_error("unexpected '%s' after INTERVAL "
					    "and COUNT", a);
			nnum++;
			have_interval = true;
		} else if (nnum) {
			usage_error("device '%s' after INTERVAL", a);
		} else if (!*a) {
			usage_error("empty device name");
		} else {
			want.arg[want.n++] = strip_dev(a);
		}
	}
	qsort(want.arg, want.n, sizeof(*want.arg), str_cmp);
	for (size_t j = 1; j < want.n;)	/* drop duplicates */
		if (!strcmp(want.arg[j], want.arg[j - 1]))
			memmove(&want.arg[j], &want.arg[j + 1],
				(--want.n - j) * sizeof(*want.arg));
		else
			j++;

	if (prometheus && o.json)
		usage_error("--prometheus and --json exclude each other");
	if ((prometheus || reset || reset_all) && have_interval)
		usage_error("no INTERVAL with --prometheus or --reset");
	if (reset && reset_all)
		usage_error("--reset and --reset-all exclude each other");
	if (reset && !want.n)
		usage_error("--reset needs at least one DEVICE");
	if (reset_all && want.n)
		usage_error("--reset-all takes no DEVICE");
	if ((reset || reset_all) && (prometheus || o.json || o.latency || o.hist))
		usage_error("--reset prints nothing: no --json, --prometheus, "
			    "--latency or --hist");
	if (o.hist && (o.json || prometheus))
		usage_error("--hist draws text (the JSON and Prometheus outputs "
			    "carry the histograms)");
	if (o.latency && prometheus)
		usage_error("--latency and --prometheus exclude each other "
			    "(Prometheus computes quantiles from the histograms)");

	src.root = root_from(root_opt);
	e = getenv("DMPSTAT_TEST_SEQ");
	src.test_seq = e && !strcmp(e, "1");
	src.hist = o.json || prometheus || o.latency || o.hist;

	sample_take(&src, &samples[0]);
	if (!samples[0].loaded) {
		if (prometheus) {
			out_prometheus(&samples[0], NULL, 0);
			return 0;
		}
		not_loaded();
	}
	{
		const struct dev **devs;
		size_t n = select_devs(&samples[0], &devs);

		check_all_found();
		if (reset || reset_all)
			do_reset(devs, n, reset_all);
		if (prometheus) {
			out_prometheus(&samples[0], devs, n);
			return 0;
		}
		if (!have_interval) {
			out_totals(&o, &samples[0], devs, n);
			return 0;
		}
	}
	interval_loop(&o, interval, count, omit_first);
	sample_free(&samples[0]);
	sample_free(&samples[1]);
	return 0;
}
