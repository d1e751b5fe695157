/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the events shipper's parsers
 * (user/k8s_events_parse.c).
 *
 * Input: bytes of an events watch stream (JSON lines), fed to the line
 * splitter in three chunks cut where the first two bytes say; every line goes
 * through the watch event parser and, when it yields an event, the logfmt
 * line; the whole input through the EventList, Lease and RFC 3339 time
 * parsers. Checks: events have a uid within the limit, a count of at least
 * one and a message within its bound; a line fits its buffer and is
 * NUL-terminated at its length without raw newlines; a parsed Lease
 * prints to a body that parses back to the same Lease; a parsed time
 * prints and parses back to the same microsecond.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_events.h"
#include "fuzz_check.h"

#define LINE_MAX_FUZZ 4096

static void check_event(struct ebt_kevent *e)
{
	char line[KEV_LINE_MAX];
	size_t n;

	CHECK(e->uid[0] && strlen(e->uid) <= K8S_UID_MAX);
	CHECK(e->count >= 1);
	CHECK(!e->message || strlen(e->message) <= KEV_MSG_MAX);
	ebt_kevent_namespace(e);
	n = ebt_kevent_line(e, line, sizeof(line));
	CHECK(n < sizeof(line) && strlen(line) == n);
	CHECK(!memchr(line, '\n', n));
	ebt_kevent_free(e);
}

static int on_line(void *ctx, const char *line, size_t len)
{
	struct ebt_kevent_watch w;
	char err[128];

	(void)ctx;
	CHECK(len > 0 && len <= LINE_MAX_FUZZ && !memchr(line, '\n', len));
	if (ebt_kevent_watch_parse(line, len, &w, err, sizeof(err)) == 0) {
		CHECK(w.type <= K8S_EV_ERROR);
		CHECK((w.ev != NULL) == (w.type <= K8S_EV_DELETED));
		if (w.ev)
			check_event(w.ev);
	} else {
		CHECK(w.ev == NULL && err[0]);
	}
	return 0;
}

static void listed(void *ctx, struct ebt_kevent *e)
{
	(void)ctx;
	check_event(e);
}

static void lease(const char *s, size_t n)
{
	struct ebt_lease l, back;
	char err[128], *json;

	if (ebt_lease_parse(s, n, &l, err, sizeof(err)) != 0)
		return;
	/* times round to microseconds in a body */
	l.acquire_ns -= l.acquire_ns % 1000;
	l.renew_ns -= l.renew_ns % 1000;
	json = ebt_lease_json("ns", "name", &l);
	CHECK(json);
	CHECK(ebt_lease_parse(json, strlen(json), &back, err,
			      sizeof(err)) == 0);
	CHECK(strcmp(back.holder, l.holder) == 0 &&
	      strcmp(back.rv, l.rv) == 0 && back.renew_ns == l.renew_ns &&
	      back.acquire_ns == l.acquire_ns &&
	      back.duration_s == l.duration_s &&
	      back.transitions == l.transitions);
	free(json);
}

static void whole(const char *s, size_t n)
{
	struct ebt_k8s_list meta;
	char err[256], *z, buf[40];
	uint64_t ns, again;

	if (ebt_kevent_list_parse(s, n, listed, NULL, &meta, err,
				  sizeof(err)) == 0) {
		CHECK(strlen(meta.rv) <= K8S_RV_MAX);
		free(meta.cont);
	}
	lease(s, n);
	z = strndup(s, n);
	if (z && ebt_k8s_time_parse(z, &ns) == 0) {
		ebt_k8s_time_format(ns, buf, sizeof(buf));
		CHECK(ebt_k8s_time_parse(buf, &again) == 0);
		CHECK(again == ns - ns % 1000);
	}
	free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t a = size > 1 ? data[0] % size : 0;
	size_t b = size > 1 ? a + data[1] % (size - a) : size;
	struct ebt_k8s_lines lines;

	/* three chunks, as a chunked body may arrive */
	ebt_k8s_lines_init(&lines, LINE_MAX_FUZZ);
	ebt_k8s_lines_feed(&lines, (const char *)data, a, on_line, NULL);
	ebt_k8s_lines_feed(&lines, (const char *)data + a, b - a, on_line,
			   NULL);
	ebt_k8s_lines_feed(&lines, (const char *)data + b, size - b, on_line,
			   NULL);
	ebt_k8s_lines_free(&lines);
	whole((const char *)data, size);
	return 0;
}
