/* SPDX-License-Identifier: Apache-2.0 */
#include "fake_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

uint64_t fake_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void fake_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Until fd is readable (true), or the fake stops or poll fails (false). */
static bool wait_readable(struct fake_http *h, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (!atomic_load(&h->stop)) {
		int rc = poll(&p, 1, 20);

		if (rc > 0)
			return true;
		if (rc < 0)
			return false;
	}
	return false;
}

void fake_http_write(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

void fake_http_write_str(int fd, const char *s)
{
	fake_http_write(fd, s, strlen(s));
}

void fake_http_hold(struct fake_http *h, int fd)
{
	char c;

	while (wait_readable(h, fd) && recv(fd, &c, 1, 0) > 0)
		;
}

/* Where the body of what buf holds ends (head + Content-Length), or 0
 * while the head is incomplete; *hdr_len is set once it is complete. */
static size_t request_end(const char *buf, size_t *hdr_len)
{
	const char *end = strstr(buf, "\r\n\r\n"), *cl;

	if (!end)
		return 0;
	*hdr_len = (size_t)(end - buf) + 4;
	cl = strcasestr(buf, "\r\nContent-Length:");
	if (cl && cl > end)
		cl = NULL;
	return *hdr_len + (cl ? strtoul(cl + 17, NULL, 10) : 0);
}

/* One whole request into a heap buffer (NUL-terminated), or NULL. */
static char *read_request(struct fake_http *h, int fd, size_t *hdr_len,
			  size_t *total)
{
	size_t cap = 1 << 16, len = 0, need = 0;
	char *buf = malloc(cap + 1);

	while (buf && (need == 0 || len < need)) {
		ssize_t n;

		if (len == cap) {
			char *nb = realloc(buf, 2 * cap + 1);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		if (!wait_readable(h, fd))
			break;
		n = recv(fd, buf + len, cap - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (need == 0)
			need = request_end(buf, hdr_len);
	}
	if (buf && (need == 0 || len < need)) {
		free(buf);
		return NULL;
	}
	*total = len;
	return buf;
}

/* Keeps the request's head and body; returns its number (1-based). */
static int record(struct fake_http *h, const char *req, size_t hdr_len,
		  size_t total)
{
	int nth;

	pthread_mutex_lock(&h->lock);
	if (h->requests < FAKE_HTTP_TIMES)
		h->req_ns[h->requests] = fake_mono_ns();
	nth = ++h->requests;
	snprintf(h->headers, sizeof(h->headers), "%.*s", (int)hdr_len, req);
	free(h->body);
	h->body_len = total - hdr_len;
	h->body = malloc(h->body_len + 1);
	if (h->body) {
		memcpy(h->body, req + hdr_len, h->body_len);
		h->body[h->body_len] = '\0';
	}
	pthread_mutex_unlock(&h->lock);
	return nth;
}

static void serve_one(struct fake_http *h, int fd)
{
	size_t hdr_len = 0, total = 0;
	char *req = read_request(h, fd, &hdr_len, &total);

	if (req) {
		int nth = record(h, req, hdr_len, total);

		h->answer(h, fd, (const uint8_t *)req + hdr_len,
			  total - hdr_len, nth);
		free(req);
	}
	close(fd);
}

static void *fake_main(void *arg)
{
	struct fake_http *h = arg;

	while (wait_readable(h, h->lfd)) {
		int fd = accept(h->lfd, NULL, NULL);

		if (fd >= 0)
			serve_one(h, fd);
	}
	return NULL;
}

/* A socket bound to 127.0.0.1 on a port the kernel picks; exits the test
 * program when the machine cannot give one. */
static int bind_loopback(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
		perror("fake_http: bind 127.0.0.1");
		exit(1);
	}
	*port = ntohs(a.sin_port);
	return fd;
}

void fake_http_start(struct fake_http *h, fake_answer_fn answer)
{
	h->answer = answer;
	atomic_init(&h->stop, false);
	pthread_mutex_init(&h->lock, NULL);
	h->lfd = bind_loopback(&h->port);
	if (listen(h->lfd, 16) != 0 ||
	    pthread_create(&h->thread, NULL, fake_main, h) != 0) {
		perror("fake_http: listen");
		exit(1);
	}
}

void fake_http_stop(struct fake_http *h)
{
	atomic_store(&h->stop, true);
	pthread_join(h->thread, NULL);
	close(h->lfd);
	pthread_mutex_destroy(&h->lock);
	free(h->body);
	h->body = NULL;
}

int fake_http_requests(struct fake_http *h)
{
	int n;

	pthread_mutex_lock(&h->lock);
	n = h->requests;
	pthread_mutex_unlock(&h->lock);
	return n;
}

uint16_t fake_http_closed_port(void)
{
	uint16_t port;

	close(bind_loopback(&port));
	return port;
}
