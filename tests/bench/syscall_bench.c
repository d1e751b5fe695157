/*
 * syscall_bench: what a syscall costs a process, for the benchmark of the
 * tracer's cost to processes it does not trace (tests/bench/sysbench.py).
 *
 * Tight loops of three syscalls, each a different case for the tracer's BPF
 * programs:
 *   getppid  syscall(SYS_getppid): no program of the tracer hooks it (only
 *            --hooks raw runs, and returns, on it: raw runs on every syscall)
 *   read     read(2) of 64 bytes from /dev/zero: a hooked syscall on a fd
 *            that is not a socket
 *   write    write(2) of 64 bytes to /dev/null: hooked, not stdout/stderr
 *
 *   syscall_bench [-d SECONDS] [-s SLICE_MS] [-b BATCH]
 *
 *   -d  measured seconds per syscall (default 2)
 *   -s  slice length in ms (default 20): the three loops take turns slice by
 *       slice, so that a burst of load elsewhere hits all three alike
 *   -b  calls between two clock reads (default 1000)
 *
 * Per slice it reads the wall clock (CLOCK_MONOTONIC) and the thread's CPU
 * clock (CLOCK_THREAD_CPUTIME_ID: time on a CPU, which leaves out the time
 * other tasks held the CPU; the BPF programs run in this thread and count).
 * After a 0.2 s warm-up of each loop, it prints one line per syscall:
 *
 *   <name> calls=N slices=S wall_ns=W cpu_ns=C median_cpu_ns=M min_cpu_ns=m
 *
 * W and C are the totals divided by the calls (ns per call), M and m the
 * median and the minimum of the per-slice CPU ns per call. Exit status 0, or
 * 1 with a message on stderr when a syscall fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NTESTS 3
#define IO_SIZE 64

struct test {
	const char *name;
	double *slice_cpu; /* per-slice CPU ns per call */
	size_t nslices, cap;
	uint64_t calls, wall_ns, cpu_ns;
};

static int zero_fd = -1, null_fd = -1;
static char buf[IO_SIZE];

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fail(const char *what)
{
	fprintf(stderr, "syscall_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* batch calls of test i */
static void run_batch(int i, unsigned batch)
{
	unsigned n;

	switch (i) {
	case 0:
		for (n = 0; n < batch; n++)
			syscall(SYS_getppid);
		break;
	case 1:
		for (n = 0; n < batch; n++)
			if (read(zero_fd, buf, IO_SIZE) != IO_SIZE)
				fail("read /dev/zero");
		break;
	case 2:
		for (n = 0; n < batch; n++)
			if (write(null_fd, buf, IO_SIZE) != IO_SIZE)
				fail("write /dev/null");
		break;
	}
}

/* Runs test i for about slice_ns; records the slice when t is not NULL. */
static void run_slice(int i, struct test *t, uint64_t slice_ns, unsigned batch)
{
	uint64_t w0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	uint64_t w1, c1, calls = 0;

	do {
		run_batch(i, batch);
		calls += batch;
		w1 = clock_ns(CLOCK_MONOTONIC);
	} while (w1 - w0 < slice_ns);
	c1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	if (!t)
		return;
	if (t->nslices == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->slice_cpu = realloc(t->slice_cpu, t->cap * sizeof(double));
		if (!t->slice_cpu)
			fail("realloc");
	}
	t->slice_cpu[t->nslices++] = (double)(c1 - c0) / (double)calls;
	t->calls += calls;
	t->wall_ns += w1 - w0;
	t->cpu_ns += c1 - c0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void usage(void)
{
	fprintf(stderr, "usage: syscall_bench [-d SECONDS] [-s SLICE_MS] [-b BATCH]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct test tests[NTESTS] = {{.name = "getppid"}, {.name = "read"},
				     {.name = "write"}};
	double seconds = 2, slice_ms = 20;
	unsigned long batch = 1000;
	uint64_t slice_ns, per_test_ns, done;
	char *end;
	int opt, i;

	while ((opt = getopt(argc, argv, "d:s:b:")) != -1) {
		switch (opt) {
		case 'd':
			seconds = strtod(optarg, &end);
			if (*end || seconds <= 0)
				usage();
			break;
		case 's':
			slice_ms = strtod(optarg, &end);
			if (*end || slice_ms <= 0)
				usage();
			break;
		case 'b':
			batch = strtoul(optarg, &end, 10);
			if (*end || batch == 0 || batch > 1000000)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	zero_fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (zero_fd < 0)
		fail("open /dev/zero");
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null_fd < 0)
		fail("open /dev/null");
	slice_ns = (uint64_t)(slice_ms * 1e6);
	per_test_ns = (uint64_t)(seconds * 1e9);

	for (i = 0; i < NTESTS; i++) /* warm-up: caches, branch predictors */
		run_slice(i, NULL, 200000000u, (unsigned)batch);
	for (done = 0; done < per_test_ns; done += slice_ns)
		for (i = 0; i < NTESTS; i++)
			run_slice(i, &tests[i], slice_ns, (unsigned)batch);

	for (i = 0; i < NTESTS; i++) {
		struct test *t = &tests[i];
		double mn = t->slice_cpu[0];
		size_t k;

		for (k = 1; k < t->nslices; k++)
			if (t->slice_cpu[k] < mn)
				mn = t->slice_cpu[k];
		printf("%s calls=%llu slices=%zu wall_ns=%.2f cpu_ns=%.2f "
		       "median_cpu_ns=%.2f min_cpu_ns=%.2f\n",
		       t->name, (unsigned long long)t->calls, t->nslices,
		       (double)t->wall_ns / (double)t->calls,
		       (double)t->cpu_ns / (double)t->calls,
		       median(t->slice_cpu, t->nslices), mn);
		free(t->slice_cpu);
	}
	return 0;
}
