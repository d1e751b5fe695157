/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Export retry policy: which failures are retried and after how long.
 * Pure: the only input besides the arguments is the wall clock, and only
 * in retry_policy() (retry_policy_at() takes "now" explicitly).
 */
#include "otlp.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_BASE_MS 500
#define RETRY_FACTOR 2
#define RETRY_CAP_MS 30000
#define RETRY_AFTER_CAP_MS 60000
#define RETRY_MAX_ATTEMPTS 6
#define RETRY_AFTER_MAX_LEN 64

/* Status 0 stands for a transport error (refused, reset, timeout). */
static const int retryable_status[] = { 0, 429, 502, 503, 504 };

/* HTTP-date forms of RFC 9110 5.6.7: IMF-fixdate, RFC 850, asctime. */
static const char *const http_date_formats[] = {
	"%a, %d %b %Y %H:%M:%S GMT",
	"%A, %d-%b-%y %H:%M:%S GMT",
	"%a %b %e %H:%M:%S %Y",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static bool is_retryable(int status)
{
	for (size_t i = 0; i < ARRAY_SIZE(retryable_status); i++)
		if (retryable_status[i] == status)
			return true;
	return false;
}

/* Copy v without surrounding whitespace into buf; false if too long. */
static bool trim_copy(const char *v, char *buf, size_t len)
{
	size_t n;

	while (isspace((unsigned char)*v))
		v++;
	n = strlen(v);
	while (n > 0 && isspace((unsigned char)v[n - 1]))
		n--;
	if (n == 0 || n >= len)
		return false;
	memcpy(buf, v, n);
	buf[n] = '\0';
	return true;
}

static int64_t delta_seconds_ms(const char *s)
{
	unsigned long long secs;
	char *end;

	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p))
			return -1;
	errno = 0;
	secs = strtoull(s, &end, 10);
	if (errno == ERANGE || secs > RETRY_AFTER_CAP_MS / 1000)
		return RETRY_AFTER_CAP_MS;
	return (int64_t)secs * 1000;
}

static int64_t http_date_ms(const char *s, time_t now)
{
	for (size_t i = 0; i < ARRAY_SIZE(http_date_formats); i++) {
		struct tm tm = { 0 };
		const char *end = strptime(s, http_date_formats[i], &tm);
		time_t t;

		if (!end || *end != '\0')
			continue;
		t = timegm(&tm);
		if (t == (time_t)-1)
			return -1;
		if (t <= now)
			return 0;
		if (t - now > RETRY_AFTER_CAP_MS / 1000)
			return RETRY_AFTER_CAP_MS;
		return (int64_t)(t - now) * 1000;
	}
	return -1;
}

/* Retry-After in ms, capped; -1 if absent or malformed. */
static int64_t retry_after_ms(const char *v, time_t now)
{
	char buf[RETRY_AFTER_MAX_LEN];

	if (!v || !trim_copy(v, buf, sizeof(buf)))
		return -1;
	if (isdigit((unsigned char)buf[0]))
		return delta_seconds_ms(buf);
	return http_date_ms(buf, now);
}

/* base * factor^(attempt-1), capped, stretched by up to +50% jitter. */
static int64_t backoff_ms(int attempt, double jitter)
{
	int64_t d = RETRY_BASE_MS;

	for (int i = 1; i < attempt && d < RETRY_CAP_MS; i++)
		d *= RETRY_FACTOR;
	if (!(jitter >= 0.0)) /* also catches NaN */
		jitter = 0.0;
	if (jitter >= 1.0)
		jitter = 0.999;
	d += (int64_t)((double)d * 0.5 * jitter);
	return d < RETRY_CAP_MS ? d : RETRY_CAP_MS;
}

int64_t retry_policy_at(int http_status, int attempt, const char *retry_after,
			double jitter, time_t now)
{
	int64_t ra;

	if (!is_retryable(http_status))
		return -1;
	if (attempt < 1)
		attempt = 1;
	if (attempt >= RETRY_MAX_ATTEMPTS)
		return -1;
	ra = retry_after_ms(retry_after, now);
	if (ra >= 0)
		return ra;
	return backoff_ms(attempt, jitter);
}

int64_t retry_policy(int http_status, int attempt, const char *retry_after,
		     double jitter)
{
	return retry_policy_at(http_status, attempt, retry_after, jitter,
			       time(NULL));
}
