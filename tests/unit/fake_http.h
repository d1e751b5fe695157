/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A hand-written HTTP/1.1 backend on 127.0.0.1 for the exporters' fault
 * injection tests (test_otlp.c, test_loki.c): one connection at a time,
 * one request per connection (Content-Length bodies), answered by the
 * test's own callback, so a test can return 503, 429 or 400, or hold the
 * connection and never answer. The real Tempo and Loki are in tests/e2e.
 */
#ifndef EBT_FAKE_HTTP_H
#define EBT_FAKE_HTTP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FAKE_HTTP_TIMES 8

struct fake_http;

/* Answers request nth (1-based) on fd; body is the request's body. Called
 * on the fake's thread with its lock not held. */
typedef void (*fake_answer_fn)(struct fake_http *h, int fd,
			       const uint8_t *body, size_t body_len, int nth);

/* Embed as the first member of a test's own fake to reach it from h. */
struct fake_http {
	int lfd;
	uint16_t port;
	pthread_t thread;
	atomic_bool stop;
	pthread_mutex_t lock; /* guards the fields below */
	int requests;
	uint64_t req_ns[FAKE_HTTP_TIMES]; /* arrival of the first requests */
	char headers[4096];               /* of the last request */
	uint8_t *body;                    /* of the last request */
	size_t body_len;
	fake_answer_fn answer;
};

void fake_http_start(struct fake_http *h, fake_answer_fn answer);
void fake_http_stop(struct fake_http *h);
int fake_http_requests(struct fake_http *h);
/* Keeps fd open, reading and dropping, until the peer closes or the fake
 * stops: a backend that never answers. */
void fake_http_hold(struct fake_http *h, int fd);
void fake_http_write(int fd, const void *buf, size_t len);
void fake_http_write_str(int fd, const char *s);
/* A port on 127.0.0.1 that nothing listens on. */
uint16_t fake_http_closed_port(void);

uint64_t fake_mono_ns(void);
void fake_sleep_ms(unsigned ms);

#endif
