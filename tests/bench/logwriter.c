/*
 * logwriter: the log capture benchmark's application (tests/bench/logbench.py).
 *
 * Writes realistic application log lines (Spring-Boot-like, 150-190 bytes,
 * each with a sequence number), one write(2) per line as a logger that
 * flushes every record does, to stdout or to a file opened for append.
 *
 *   logwriter [-r LINES_PER_S] [-n MAX_LINES] [-d MAX_SECONDS] [-o FILE]
 *             [-c COMM] [-s SUMMARY_FILE] [-w]
 *
 *   -r  target rate (0, the default: as fast as it can)
 *   -n  stop after this many lines (default: no limit)
 *   -d  stop after this many seconds (default 10)
 *   -o  append to FILE instead of writing to stdout
 *   -c  set the process name (comm), so each run has its own Loki stream
 *   -s  write "lines=N bytes=B seconds=S" to SUMMARY_FILE at exit
 *   -w  wait for SIGUSR1 (at most 60 s) before writing (the harness attaches a
 *       tracer first);
 *       with -s, SUMMARY_FILE.ready appears once the signal is awaited
 *
 * Nothing else is written to stdout or stderr while it runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static const char *const levels[] = {"INFO ", "INFO ", "INFO ", "DEBUG",
				     "INFO ", "WARN ", "INFO ", "INFO "};
static const char *const loggers[] = {
	"c.e.shop.order.OrderService        ",
	"c.e.shop.payment.PaymentClient     ",
	"c.e.shop.catalog.InventoryCache    ",
	"o.s.web.servlet.DispatcherServlet  ",
};
static const char *const messages[] = {
	"order placed customer=c-%05u items=%u total=%u.%02u EUR",
	"payment authorised ref=pay-%08x amount=%u.%02u provider=acme",
	"cache refresh region=eu-west-%u hits=%u misses=%u",
	"GET /api/v1/orders/%u completed status=200 bytes=%u",
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Formats line number seq into buf; returns its length (newline included). */
static int format_line(char *buf, size_t size, uint64_t seq)
{
	static time_t last_sec = -1;
	static char stamp[32];
	struct timespec ts;
	struct tm tm;
	unsigned a = (unsigned)(seq * 2654435761u), b = (unsigned)(seq % 97);
	char msg[96];
	int n;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	if (ts.tv_sec != last_sec) {
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		last_sec = ts.tv_sec;
	}
	switch (seq & 3) {
	case 0:
		snprintf(msg, sizeof(msg), messages[0], a % 100000, b % 9 + 1,
			 a % 900 + 10, b);
		break;
	case 1:
		snprintf(msg, sizeof(msg), messages[1], a, a % 500 + 1, b);
		break;
	case 2:
		snprintf(msg, sizeof(msg), messages[2], b % 3 + 1, a % 10000,
			 b);
		break;
	default:
		snprintf(msg, sizeof(msg), messages[3], a % 1000000,
			 a % 8192 + 64);
		break;
	}
	n = snprintf(buf, size,
		     "%s.%03ldZ %s 4242 --- [nio-8080-exec-%u] %s: %s seq=%09llu\n",
		     stamp, ts.tv_nsec / 1000000, levels[(seq >> 2) & 7],
		     (unsigned)(seq % 10), loggers[(seq >> 1) & 3], msg,
		     (unsigned long long)seq);
	return n < (int)size ? n : (int)size - 1;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	double rate = 0, max_s = 10;
	uint64_t max_lines = UINT64_MAX, seq = 0, bytes = 0, start, now, end;
	const char *out = NULL, *comm = NULL, *summary = NULL;
	int fd = 1, wait_sig = 0, opt;
	char line[512];

	while ((opt = getopt(argc, argv, "r:n:d:o:c:s:w")) != -1) {
		switch (opt) {
		case 'r': rate = atof(optarg); break;
		case 'n': max_lines = strtoull(optarg, NULL, 10); break;
		case 'd': max_s = atof(optarg); break;
		case 'o': out = optarg; break;
		case 'c': comm = optarg; break;
		case 's': summary = optarg; break;
		case 'w': wait_sig = 1; break;
		default:
			fprintf(stderr, "usage: %s [-r rate] [-n lines] [-d s] "
				"[-o file] [-c comm] [-s summary] [-w]\n", argv[0]);
			return 2;
		}
	}
	if (comm)
		prctl(PR_SET_NAME, comm, 0, 0, 0);
	if (out) {
		fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0) {
			perror(out);
			return 1;
		}
	}
	if (wait_sig) {
		sigset_t set;
		int sig;

		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigprocmask(SIG_BLOCK, &set, NULL);
		if (summary) { /* tell the harness the signal is safe now */
			char ready[4096];
			int rfd;

			snprintf(ready, sizeof(ready), "%s.ready", summary);
			rfd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
				   0644);
			if (rfd >= 0)
				close(rfd);
		}
		/* Not started within a minute: the harness is gone. */
		struct timespec limit = {60, 0};

		sig = sigtimedwait(&set, NULL, &limit);
		if (sig != SIGUSR1)
			return 1;
	}
	start = now_ns();
	end = start + (uint64_t)(max_s * 1e9);
	for (now = start; seq < max_lines && now < end;) {
		/* Lines due by now (all of them without a target rate). */
		uint64_t due = max_lines;

		if (rate > 0) {
			due = (uint64_t)((double)(now - start) * rate / 1e9) + 1;
			if (due > max_lines)
				due = max_lines;
		}
		while (seq < due) {
			int n = format_line(line, sizeof(line), seq);

			if (write_all(fd, line, (size_t)n))
				goto done;
			bytes += (uint64_t)n;
			seq++;
			if ((seq & 255) == 0 && now_ns() >= end)
				goto done;
		}
		if (rate > 0) {
			struct timespec ts = {0, 100000};

			nanosleep(&ts, NULL);
		}
		now = now_ns();
	}
done:
	now = now_ns();
	if (summary) {
		FILE *f = fopen(summary, "w");

		if (f) {
			fprintf(f, "lines=%llu bytes=%llu seconds=%.6f\n",
				(unsigned long long)seq,
				(unsigned long long)bytes,
				(double)(now - start) / 1e9);
			fclose(f);
		}
	}
	return 0;
}
