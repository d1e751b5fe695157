/* SPDX-License-Identifier: Apache-2.0 */
/* Tracer diagnostics on stderr, with levels and per-site rate limiting. */
#ifndef EBT_LOG_H
#define EBT_LOG_H

#include <stdint.h>

enum ebt_log_level {
	EBT_LOG_ERROR = 0,
	EBT_LOG_WARN = 1,
	EBT_LOG_INFO = 2,
	EBT_LOG_DEBUG = 3,
};

/* Process-wide log threshold: the one logging singleton. */
void ebt_log_set_level(enum ebt_log_level lvl);
int ebt_log_level_parse(const char *s, enum ebt_log_level *out);
void ebt_log(enum ebt_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Rate limiter state for one call site: at most one line per interval. */
struct ebt_ratelimit {
	uint64_t last_ns;
	uint64_t suppressed;
};
/* True if the caller may log now (and resets the suppressed counter). */
int ebt_ratelimit_ok(struct ebt_ratelimit *rl, uint64_t interval_ns,
		     uint64_t *suppressed);

uint64_t ebt_now_mono_ns(void);
uint64_t ebt_now_real_ns(void);

#define log_error(...) ebt_log(EBT_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) ebt_log(EBT_LOG_WARN, __VA_ARGS__)
#define log_info(...) ebt_log(EBT_LOG_INFO, __VA_ARGS__)
#define log_debug(...) ebt_log(EBT_LOG_DEBUG, __VA_ARGS__)

#endif /* EBT_LOG_H */
