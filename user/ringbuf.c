/* SPDX-License-Identifier: Apache-2.0 */
/*
 * BPF ring-buffer consumer with the data area mapped once (see ringbuf.h).
 * Layout of the map's pages (kernel/bpf/ringbuf.c): the consumer position
 * page (writable by us), the producer position page, then the data pages.
 */
#include "ringbuf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

struct ebt_ring {
	int epfd;
	uint64_t *consumer_pos; /* our page, read-write */
	void *prod_map;         /* producer page + data, read-only */
	size_t prod_map_len;
	const uint64_t *producer_pos;
	const uint8_t *data;
	uint64_t size; /* data bytes, a power of two */
	struct ebt_ring_scratch scratch;
	ebt_ring_fn fn;
	void *ctx;
};

#define REC_FLAGS (BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT)

static uint64_t rec_span(uint32_t len)
{
	return ((uint64_t)len + BPF_RINGBUF_HDR_SZ + 7) & ~(uint64_t)7;
}

/* The len bytes at ring offset off, joined in s if they wrap; NULL when
 * the scratch cannot grow. */
static const uint8_t *rec_bytes(const uint8_t *data, uint64_t size,
				uint64_t off, uint32_t len,
				struct ebt_ring_scratch *s)
{
	uint64_t first = size - off;

	if (len <= first)
		return data + off;
	if (s->cap < len) {
		uint8_t *p = realloc(s->buf, len);

		if (!p)
			return NULL;
		s->buf = p;
		s->cap = len;
	}
	memcpy(s->buf, data + off, first);
	memcpy(s->buf + first, data, len - first);
	return s->buf;
}

int ebt_ring_walk(const uint8_t *data, uint64_t size, uint64_t *cons,
		  uint64_t prod, struct ebt_ring_scratch *s, ebt_ring_fn fn,
		  void *ctx)
{
	uint64_t pos = *cons, mask = size - 1;
	int n = 0;

	while (pos < prod) {
		const uint32_t *hdr = (const void *)(data + (pos & mask));
		uint32_t word = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
		uint32_t len = word & ~(uint32_t)REC_FLAGS;
		const uint8_t *rec;

		if (word & BPF_RINGBUF_BUSY_BIT)
			break;
		if (!(word & BPF_RINGBUF_DISCARD_BIT)) {
			rec = rec_bytes(data, size,
					(pos + BPF_RINGBUF_HDR_SZ) & mask, len, s);
			/* no room to join it: skipped, like a lost record */
			if (rec) {
				int rc = fn(ctx, rec, len);

				if (rc < 0) {
					__atomic_store_n(cons, pos + rec_span(len),
							 __ATOMIC_RELEASE);
					return rc;
				}
				n++;
			}
		}
		pos += rec_span(len);
		__atomic_store_n(cons, pos, __ATOMIC_RELEASE);
	}
	return n;
}

static int ring_map(struct ebt_ring *r, int map_fd)
{
	struct bpf_map_info info = { 0 };
	uint32_t info_len = sizeof(info);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	if (bpf_obj_get_info_by_fd(map_fd, &info, &info_len) != 0)
		return -errno;
	if (info.type != BPF_MAP_TYPE_RINGBUF || info.max_entries == 0 ||
	    (info.max_entries & (info.max_entries - 1)))
		return -EINVAL;
	r->size = info.max_entries;
	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	r->consumer_pos = p;
	r->prod_map_len = page + r->size; /* data once: see ringbuf.h */
	p = mmap(NULL, r->prod_map_len, PROT_READ, MAP_SHARED, map_fd,
		 (off_t)page);
	if (p == MAP_FAILED)
		return -errno;
	r->prod_map = p;
	r->producer_pos = p;
	r->data = (const uint8_t *)p + page;
	return 0;
}

static int ring_epoll(struct ebt_ring *r, int map_fd)
{
	struct epoll_event ev = { .events = EPOLLIN };

	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0)
		return -errno;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, map_fd, &ev) != 0)
		return -errno;
	return 0;
}

struct ebt_ring *ebt_ring_new(int map_fd, ebt_ring_fn fn, void *ctx)
{
	struct ebt_ring *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return NULL;
	r->epfd = -1;
	r->fn = fn;
	r->ctx = ctx;
	rc = ring_map(r, map_fd);
	if (rc == 0)
		rc = ring_epoll(r, map_fd);
	if (rc != 0) {
		ebt_ring_free(r);
		errno = -rc;
		return NULL;
	}
	return r;
}

void ebt_ring_free(struct ebt_ring *r)
{
	if (!r)
		return;
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->consumer_pos)
		munmap(r->consumer_pos, (size_t)sysconf(_SC_PAGESIZE));
	if (r->prod_map)
		munmap(r->prod_map, r->prod_map_len);
	free(r->scratch.buf);
	free(r);
}

int ebt_ring_consume(struct ebt_ring *r)
{
	int total = 0;

	for (;;) {
		uint64_t prod =
			__atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE);
		uint64_t before = *r->consumer_pos;
		int n = ebt_ring_walk(r->data, r->size, r->consumer_pos, prod,
				      &r->scratch, r->fn, r->ctx);

		if (n < 0)
			return n;
		total += n;
		/* stopped at a busy record, or caught up with prod */
		if (*r->consumer_pos == before || *r->consumer_pos < prod)
			return total;
	}
}

int ebt_ring_poll(struct ebt_ring *r, int timeout_ms)
{
	struct epoll_event ev;
	int n = epoll_wait(r->epfd, &ev, 1, timeout_ms);

	if (n < 0)
		return -errno;
	return ebt_ring_consume(r);
}
