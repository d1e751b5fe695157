/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the ring-record decoder and everything behind it:
 * connection tracking, HTTP pairing, trace context, span assembly and the
 * stdout/stderr line assembler (decoder.c, conntrack.c, assembler.c,
 * logcapture.c, logs.c), as the tracer runs them, without BPF.
 *
 * Input: a program of operations, one opcode byte each, with operands
 * taken from the bytes that follow (missing bytes read as 0):
 *   op % 8 == 0      connection open: slot (op >> 3) & 3, role, ports
 *   op % 8 in 1..3   data on slot (op >> 3) & 3: a flags byte (direction,
 *                    a lost record of the same direction before it,
 *                    truncated capture, TLS, thread) and a length byte;
 *                    that many payload bytes follow
 *   op % 8 == 4      close of a slot
 *   op % 8 == 5      process exit, fork or exec (op >> 3 picks)
 *   op % 8 == 6      a write to stdout/stderr: flags, length, bytes
 *   op % 8 == 7      a raw record: a length byte, then that many bytes
 *                    handed to the decoder as they are
 * Time moves forward by a few ms per operation; the tracer's tick runs
 * every few operations. Every span reported is checked: printable
 * strings of valid UTF-8, a trace id, an end not before its start, a status code that
 * is one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logs.h"
#include "span.h"
#include "tracer.h"
#include "utf8.h"
#include "fuzz_check.h"

#define SLOTS 4
#define MS 1000000ull

/* What the fuzzer's connection slots hold: the records' identity. */
struct slot {
	uint32_t tgid, fd, seq;
	uint64_t start_ns, off[2];
};

struct run {
	const uint8_t *p;
	size_t left;
	uint64_t now;
	struct slot slots[SLOTS];
	struct ebt_tracer t;
	struct ebt_ev_data ev; /* the largest record: reused for each */
};

static uint8_t next(struct run *r)
{
	if (!r->left)
		return 0;
	r->left--;
	return *r->p++;
}

static size_t take(struct run *r, uint8_t *out, size_t want)
{
	size_t n = want < r->left ? want : r->left;

	memcpy(out, r->p, n);
	r->p += n;
	r->left -= n;
	return n;
}

/* No control characters, and valid UTF-8 (OTLP strings must be). */
static void check_str(const char *s)
{
	CHECK(!s || ebt_utf8_text_ok(s, strlen(s)));
}

static bool zero(const uint8_t *id, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (id[i])
			return false;
	return true;
}

static void check_span(void *ctx, struct ebt_span *s)
{
	(void)ctx;
	CHECK(s->name && s->name[0]);
	check_str(s->name);
	check_str(s->status_message);
	CHECK(!zero(s->trace_id, sizeof(s->trace_id)));
	CHECK(!zero(s->span_id, sizeof(s->span_id)));
	CHECK(s->end_ns >= s->start_ns);
	CHECK(s->kind == EBT_KIND_SERVER || s->kind == EBT_KIND_CLIENT ||
	      s->kind == EBT_KIND_INTERNAL);
	for (unsigned i = 0; i < s->n_attrs; i++) {
		const struct ebt_attr *a = &s->attrs[i];

		CHECK(a->key && a->key[0]);
		if (a->type == EBT_ATTR_STR)
			check_str(a->str);
		if (strcmp(a->key, "http.response.status_code") == 0)
			CHECK(a->type == EBT_ATTR_INT && a->num >= 100 &&
			      a->num <= 999);
	}
	ebt_span_free(s);
}

static void check_log(void *ctx, const struct ebt_log_record *rec)
{
	(void)ctx;
	CHECK(rec->line || rec->len == 0);
}

static void hdr(struct run *r, struct ebt_event_hdr *h, uint32_t type,
		const struct slot *s, uint32_t tid)
{
	h->type = type;
	h->tgid = s->tgid;
	h->tid = tid;
	h->fd = s->fd;
	h->ts_ns = r->now;
	h->conn_start_ns = s->start_ns;
}

static void op_open(struct run *r, struct slot *s)
{
	struct ebt_ev_conn_open e;
	uint8_t b = next(r);

	memset(&e, 0, sizeof(e));
	s->start_ns = r->now;
	s->seq = 0;
	s->off[0] = s->off[1] = 0;
	hdr(r, &e.hdr, EBT_EV_CONN_OPEN, s, s->tgid);
	e.saddr[10] = e.saddr[11] = e.daddr[10] = e.daddr[11] = 0xff;
	e.saddr[12] = e.daddr[12] = 127;
	e.daddr[15] = 1 + (b & 1); /* two hosts: some tuples pair up */
	e.saddr[15] = 1;
	e.sport = (b & 2) ? 8080 : (uint16_t)(40000 + next(r));
	e.dport = (b & 2) ? (uint16_t)(40000 + next(r)) : 8080;
	e.family = (b & 4) ? 1 /* AF_UNIX */ : 2 /* AF_INET */;
	e.role = (b & 2) ? EBT_ROLE_SERVER : EBT_ROLE_CLIENT;
	memcpy(e.comm, "app", 4);
	ebt_tracer_handle(&r->t, &e, sizeof(e));
}

/* The last EBT_DATA_END_LEN of the cap bytes taken become the syscall's
 * end, after a shorter prefix and an unseen middle of 1000 bytes. */
static void with_end(struct ebt_ev_data *e, size_t cap)
{
	e->cap_len -= EBT_DATA_END_LEN;
	memmove(e->payload + e->cap_len, e->payload + cap - EBT_DATA_END_LEN,
		EBT_DATA_END_LEN);
	e->total_len = (uint32_t)cap + 1000;
	e->tail |= EBT_DATA_END;
}

/* flags: bit 0 direction, 1 a lost record first, 2 truncated, 3 TLS,
 * 4-5 the thread, 6 a long length (times 32), 7 the syscall's last
 * EBT_DATA_END_LEN bytes follow the prefix (EBT_DATA_END). */
static void op_data(struct run *r, struct slot *s)
{
	uint8_t f = next(r), l = next(r);
	size_t want = (size_t)l * ((f & 0x40) ? 32 : 1), cap;
	struct ebt_ev_data *e = &r->ev;
	uint32_t dir = f & 1;

	if (want > EBT_PAYLOAD_MAX - 1)
		want = EBT_PAYLOAD_MAX - 1;
	memset(e, 0, offsetof(struct ebt_ev_data, payload));
	cap = take(r, e->payload, want);
	hdr(r, &e->hdr, EBT_EV_DATA, s, s->tgid + ((f >> 4) & 3));
	if (f & 2) { /* before it, a record the ring refused */
		s->seq++;
		s->off[dir] += 1 + (uint64_t)l * 7;
	}
	e->direction = dir;
	e->role = 0;
	e->cap_len = (uint32_t)((f & 4) ? cap / 2 : cap);
	e->total_len = (uint32_t)cap + ((f & 4) ? 1000 : 0);
	e->seq = s->seq++;
	e->tail = (f & 8) ? EBT_DATA_TLS : 0;
	if ((f & 0x80) && e->cap_len >= EBT_DATA_END_LEN)
		with_end(e, cap);
	e->off = s->off[dir];
	s->off[dir] += e->total_len;
	ebt_tracer_handle(&r->t, e,
			  offsetof(struct ebt_ev_data, payload) + e->cap_len +
				  ebt_data_end_len(e));
}

static void op_close(struct run *r, struct slot *s)
{
	struct ebt_ev_close e;

	hdr(r, &e.hdr, EBT_EV_CONN_CLOSE, s, s->tgid);
	ebt_tracer_handle(&r->t, &e, sizeof(e));
}

static void op_proc(struct run *r, struct slot *s, uint8_t op)
{
	struct ebt_ev_proc p;
	struct ebt_ev_exec x;

	memset(&p, 0, sizeof(p));
	switch ((op >> 5) % 3) {
	case 0:
		hdr(r, &p.hdr, EBT_EV_PROC_EXIT, s, s->tgid);
		ebt_tracer_handle(&r->t, &p, sizeof(p));
		break;
	case 1:
		hdr(r, &p.hdr, EBT_EV_PROC_FORK, s, s->tgid);
		p.child_tgid = s->tgid + 100 + next(r) % 4;
		ebt_tracer_handle(&r->t, &p, sizeof(p));
		break;
	default:
		memset(&x, 0, sizeof(x));
		hdr(r, &x.hdr, EBT_EV_PROC_EXEC, s, s->tgid);
		take(r, (uint8_t *)x.comm, sizeof(x.comm) - 1);
		take(r, (uint8_t *)x.exe, sizeof(x.exe) - 1);
		x.args_len = next(r) * 2u; /* past args[] too: it is clamped */
		take(r, (uint8_t *)x.args, sizeof(x.args));
		ebt_tracer_handle(&r->t, &x, sizeof(x));
		break;
	}
}

/* flags: bit 0 stderr, 1 more pieces follow, 2-3 thread, 4 long. */
static void op_log(struct run *r, struct slot *s)
{
	uint8_t f = next(r), l = next(r);
	size_t want = (size_t)l * ((f & 0x10) ? 32 : 1), cap;
	struct ebt_ev_data *e = &r->ev;

	if (want > EBT_PAYLOAD_MAX - 1)
		want = EBT_PAYLOAD_MAX - 1;
	memset(e, 0, offsetof(struct ebt_ev_data, payload));
	cap = take(r, e->payload, want);
	hdr(r, &e->hdr, EBT_EV_LOG, s, s->tgid + ((f >> 2) & 3));
	e->hdr.fd = 1 + (f & 1);
	e->hdr.conn_start_ns = 0;
	e->role = 1 + (f & 1);
	e->cap_len = (uint32_t)cap;
	e->total_len = (uint32_t)cap;
	e->seq = (f >> 1) & 1;
	ebt_tracer_handle(&r->t, e,
			  offsetof(struct ebt_ev_data, payload) + e->cap_len);
}

static void op_raw(struct run *r)
{
	size_t n = take(r, (uint8_t *)&r->ev, (size_t)next(r) * 2);

	ebt_tracer_handle(&r->t, &r->ev, n);
}

static void step(struct run *r, uint8_t op)
{
	struct slot *s = &r->slots[(op >> 3) & 3];

	switch (op % 8) {
	case 0:
		op_open(r, s);
		break;
	case 1:
	case 2:
	case 3:
		op_data(r, s);
		break;
	case 4:
		op_close(r, s);
		break;
	case 5:
		op_proc(r, s, op);
		break;
	case 6:
		op_log(r, s);
		break;
	default:
		op_raw(r);
		break;
	}
}

/* Never-seen processes: /proc/<tgid> lookups fail fast; two fds each. */
static void init_slots(struct run *r)
{
	uint32_t base = 0x3ff00000u; /* above any pid_max */

	for (unsigned i = 0; i < SLOTS; i++) {
		r->slots[i].tgid = base + (i >> 1);
		r->slots[i].fd = 3 + (i & 1);
	}
}

static bool no_comm(uint32_t tgid, uint32_t tid, char out[16])
{
	(void)tgid;
	(void)tid;
	memcpy(out, "worker", 7);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run r;
	struct ebt_config cfg;
	struct ebt_logs_config lc;
	unsigned ops = 0;

	memset(&r, 0, sizeof(r));
	memset(&cfg, 0, sizeof(cfg));
	cfg.query_mode = HTTP_QUERY_REDACT;
	r.p = data;
	r.left = size;
	r.now = 1000 * MS;
	init_slots(&r);
	CHECK(ebt_tracer_init(&r.t, &cfg, check_span, NULL) == 0);
	r.t.thread_comm = no_comm;
	ebt_logs_config_default(&lc);
	r.t.logs = ebt_logs_new(&lc, check_log, NULL);
	CHECK(r.t.logs);
	while (r.left) {
		step(&r, next(&r));
		r.now += MS * (1 + (ops & 7));
		if (++ops % 16 == 0)
			ebt_tracer_tick(&r.t, r.now);
	}
	ebt_tracer_tick(&r.t, r.now + 3600ull * 1000 * MS);
	ebt_logs_flush_all(r.t.logs);
	ebt_logs_free(r.t.logs);
	r.t.logs = NULL;
	ebt_tracer_fini(&r.t);
	return 0;
}
