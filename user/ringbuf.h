/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Consumer of the BPF ring buffer with its data pages mapped once.
 *
 * libbpf's consumer maps the data area twice, back to back, so that a
 * record that wraps past the end reads as one piece. The kernel maps every
 * page at mmap time, so the second view added the whole ring size to the
 * tracer's RSS (4 MiB for the default 2 MiB ring) for memory that exists
 * once. This consumer maps the data once and copies the rare record that
 * wraps into a scratch buffer.
 */
#ifndef EBT_RINGBUF_H
#define EBT_RINGBUF_H

#include <stddef.h>
#include <stdint.h>

/* A record's handler; a negative return stops the drain and is returned. */
typedef int (*ebt_ring_fn)(void *ctx, const void *data, size_t len);

struct ebt_ring;

/* Map the ring of BPF_MAP_TYPE_RINGBUF map_fd; NULL and errno on failure. */
struct ebt_ring *ebt_ring_new(int map_fd, ebt_ring_fn fn, void *ctx);
void ebt_ring_free(struct ebt_ring *r);
/* Wait up to timeout_ms for a wake-up, then hand over every committed
 * record; returns how many, or a negative errno. */
int ebt_ring_poll(struct ebt_ring *r, int timeout_ms);
/* Hand over every committed record without waiting. */
int ebt_ring_consume(struct ebt_ring *r);

/* A record that wraps is joined here; grows to the largest such record. */
struct ebt_ring_scratch {
	uint8_t *buf;
	size_t cap;
};

/*
 * The walk itself, on any memory laid out as the kernel's data area (size
 * a power of two; each record an 8-byte header {u32 len with busy and
 * discard bits, u32 page offset} then len bytes, padded to 8): hands over
 * the records from *cons up to prod, storing the new position into *cons
 * after each. Stops at a record still being written. Returns records
 * handed over or the handler's negative return.
 */
int ebt_ring_walk(const uint8_t *data, uint64_t size, uint64_t *cons,
		  uint64_t prod, struct ebt_ring_scratch *s, ebt_ring_fn fn,
		  void *ctx);

#endif /* EBT_RINGBUF_H */
