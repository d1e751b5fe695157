/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Singleton: the process-wide log threshold. */
static atomic_int log_threshold = EBT_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void ebt_log_set_level(enum ebt_log_level lvl)
{
	atomic_store(&log_threshold, (int)lvl);
}

int ebt_log_level_parse(const char *s, enum ebt_log_level *out)
{
	for (int i = 0; i <= EBT_LOG_DEBUG; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum ebt_log_level)i;
			return 0;
		}
	}
	return -1;
}

void ebt_log(enum ebt_log_level lvl, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if ((int)lvl > atomic_load(&log_threshold))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ebpftrace: %s: %s\n", level_names[lvl], buf);
}

int ebt_ratelimit_ok(struct ebt_ratelimit *rl, uint64_t interval_ns,
		     uint64_t *suppressed)
{
	uint64_t now = ebt_now_mono_ns();

	if (rl->last_ns && now - rl->last_ns < interval_ns) {
		rl->suppressed++;
		return 0;
	}
	rl->last_ns = now;
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return 1;
}

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t ebt_now_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t ebt_now_real_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}
