/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Log line assembler (see logs.h).
 *
 * One state per (tgid, stream): the physical line being assembled ("cur",
 * already escaped), a UTF-8 carry of at most 3 bytes for a character split
 * between two writes, and, with multiline on, the last complete record
 * ("held"), kept back until the next line shows whether it continues it.
 *
 * Streams sit on an LRU list ordered by their last write. tick() walks it
 * from the oldest: a stream idle for flush_timeout is flushed and freed, so
 * memory follows the active writers. Buffer memory is counted by capacity;
 * when a write would take the total over max_bytes, the least recently
 * written streams are flushed and freed first (nothing is dropped, records
 * just leave earlier). Only an allocation failure drops bytes (counted).
 */
#include "logs.h"

#include <stdlib.h>
#include <string.h>

#include "htab.h"
#include "utf8.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define BUF_MIN 256u
#define BUF_KEEP (16u * 1024) /* larger buffers are freed once emptied */
#define ESCAPE_LEN 4          /* "\xNN" */
#define SEVERITY_FIELD_SCAN 512
#define SEVERITY_WORD_SCAN 128

struct buf {
	char *p;
	size_t len;
	size_t cap;
};

/* What a record inherits from the write of its first byte. */
struct meta {
	uint64_t ts;
	uint32_t tid;
	bool has_ctx;
	struct ebt_log_ctx ctx;
	uint32_t flags;
	uint32_t lines;
};

struct skey {
	uint32_t tgid;
	uint32_t stream;
};

struct lstream {
	struct lstream *prev, *next; /* LRU, oldest write first */
	struct skey key;
	uint64_t last_ns;      /* ts of the last write */
	uint64_t last_emit_ts; /* ts of the last record emitted */
	bool emitted;
	bool gap;      /* bytes were lost: the next line may lack its start */
	bool in_split; /* cur continues a line longer than max_line */
	bool started;  /* cur holds the start of a line (maybe 0 bytes yet) */
	struct meta cur_m;
	struct buf cur;
	uint8_t carry[4];
	uint8_t carry_len;
	bool have_held;
	struct meta held_m;
	struct buf held;
	bool held_blank;       /* a blank line followed held: undecided yet */
	struct meta blank_m;
};

struct ebt_logs {
	struct ebt_logs_config cfg;
	ebt_log_sink sink;
	void *sink_ctx;
	struct htab *streams; /* struct skey -> struct lstream* */
	struct lstream *lru_head, *lru_tail;
	const struct ebt_log_chunk *chunk; /* the write being fed, or NULL */
	struct ebt_logs_stats st;
};

/* Bytes 0x01-0x7f: copied as they are. */
static size_t ascii_run(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && (unsigned)p[i] - 1u < 0x7fu)
		i++;
	return i;
}

static void escape_byte(uint8_t b, char *out)
{
	static const char hex[] = "0123456789abcdef";

	out[0] = '\\';
	out[1] = 'x';
	out[2] = hex[b >> 4];
	out[3] = hex[b & 15];
}

size_t ebt_utf8_escape(const uint8_t *in, size_t n, char *out,
		       size_t *escaped)
{
	size_t i = 0, o = 0, esc = 0;

	while (i < n) {
		size_t run = ascii_run(in + i, n - i);
		int r;

		if (run) {
			memcpy(out + o, in + i, run);
			o += run;
			i += run;
			continue;
		}
		r = ebt_utf8_seq(in + i, n - i);
		if (r > 0) {
			memcpy(out + o, in + i, (size_t)r);
			o += (size_t)r;
			i += (size_t)r;
		} else {
			escape_byte(in[i++], out + o);
			o += ESCAPE_LEN;
			esc++;
		}
	}
	out[o] = '\0';
	if (escaped)
		*escaped = esc;
	return o;
}

/* ---- multiline: lines that continue the record before them -------------- */

static size_t skip_ws(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

static bool has_prefix(const char *s, size_t n, const char *pfx)
{
	size_t k = strlen(pfx);

	return n >= k && memcmp(s, pfx, k) == 0;
}

/* "\tat com.example.Foo.bar(Foo.java:42)" */
static bool java_frame(const char *s, size_t n)
{
	size_t i = skip_ws(s, n);

	return i > 0 && has_prefix(s + i, n - i, "at ") && n - i > 3 &&
	       s[i + 3] != ' ';
}

/* "\t... 12 more", "\t... 5 common frames omitted" (logback) */
static bool java_more(const char *s, size_t n)
{
	size_t i = skip_ws(s, n), d;

	if (i == 0 || !has_prefix(s + i, n - i, "... "))
		return false;
	i += 4;
	for (d = i; d < n && s[d] >= '0' && s[d] <= '9'; d++)
		;
	return d > i && (has_prefix(s + d, n - d, " more") ||
			 has_prefix(s + d, n - d, " common frames omitted"));
}

/* "Caused by: java.io.IOException: ..." (indented inside Suppressed) */
static bool java_cause(const char *s, size_t n)
{
	size_t i = skip_ws(s, n);

	return has_prefix(s + i, n - i, "Caused by: ");
}

/* "\tSuppressed: java.lang.IllegalStateException" */
static bool java_suppressed(const char *s, size_t n)
{
	size_t i = skip_ws(s, n);

	return i > 0 && has_prefix(s + i, n - i, "Suppressed: ");
}

static bool java_ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '$';
}

/* "java.lang.IllegalStateException: boom", "com.acme.BadThing" at the
 * start of a line: a qualified class name (two dots at least) whose simple
 * name ends in Exception, Error or Throwable, then ":" or the end. This is
 * the first line of a stack trace that a logger prints under its message
 * (logback's logger.error(msg, e), Spring Boot after a blank line). */
static bool java_throwable(const char *s, size_t n)
{
	size_t i = 0, dots = 0, last = 0;

	while (i < n && (java_ident_char(s[i]) || s[i] == '.')) {
		if (s[i] == '.') {
			dots++;
			last = i + 1;
		}
		i++;
	}
	if (dots < 2 || i == last || (i < n && s[i] != ':'))
		return false;
	for (size_t k = 0; k < 3; k++) {
		static const char *const ends[] = { "Exception", "Error",
						    "Throwable" };
		size_t e = strlen(ends[k]);

		if (i - last >= e && memcmp(s + i - e, ends[k], e) == 0)
			return true;
	}
	return false;
}

struct continuation {
	const char *name;
	bool (*match)(const char *line, size_t len);
};

static const struct continuation continuations[] = {
	{ "java stack frame", java_frame },
	{ "java frames omitted", java_more },
	{ "java cause", java_cause },
	{ "java suppressed", java_suppressed },
};

static bool is_continuation(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(continuations); i++)
		if (continuations[i].match(s, n))
			return true;
	return false;
}

/* ---- buffers ------------------------------------------------------------- */

/* Room for len + extra bytes and a NUL; capacity never exceeds max_line+1. */
static int buf_reserve(struct ebt_logs *l, struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1, cap = b->cap ? b->cap : BUF_MIN;
	char *p;

	if (need <= b->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if (cap > (size_t)l->cfg.max_line + 1)
		cap = (size_t)l->cfg.max_line + 1;
	if (cap < need)
		return -1;
	p = realloc(b->p, cap);
	if (!p)
		return -1;
	l->st.buffered_bytes += cap - b->cap;
	b->p = p;
	b->cap = cap;
	return 0;
}

static void buf_free(struct ebt_logs *l, struct buf *b)
{
	l->st.buffered_bytes -= b->cap;
	free(b->p);
	*b = (struct buf){ 0 };
}

/* Emptied: keep a small buffer for the next line, free a large one. */
static void buf_reset(struct ebt_logs *l, struct buf *b)
{
	if (b->cap > BUF_KEEP)
		buf_free(l, b);
	b->len = 0;
}

/* ---- records ------------------------------------------------------------- */

static void emit(struct ebt_logs *l, struct lstream *s, const struct meta *m,
		 const struct buf *b)
{
	struct ebt_log_record r = {
		.ts_ns = m->ts,
		.tgid = s->key.tgid,
		.tid = m->tid,
		.stream = (uint8_t)s->key.stream,
		.has_ctx = m->has_ctx,
		.flags = m->flags,
		.lines = m->lines ? m->lines : 1,
		.line = b->len ? b->p : "",
		.len = b->len,
	};

	if (s->emitted && r.ts_ns <= s->last_emit_ts)
		r.ts_ns = s->last_emit_ts + 1;
	s->last_emit_ts = r.ts_ns;
	s->emitted = true;
	if (m->has_ctx) {
		memcpy(r.trace_id, m->ctx.trace_id, sizeof(r.trace_id));
		memcpy(r.span_id, m->ctx.span_id, sizeof(r.span_id));
	}
	if (b->len)
		b->p[b->len] = '\0';
	l->st.records++;
	l->st.lines += r.lines;
	if (r.flags & EBT_LOG_TRUNCATED)
		l->st.records_truncated++;
	if (r.flags & EBT_LOG_NO_NEWLINE)
		l->st.records_no_newline++;
	l->sink(l->sink_ctx, &r);
}

static void emit_held(struct ebt_logs *l, struct lstream *s)
{
	struct buf empty = { 0 };

	if (!s->have_held)
		return;
	emit(l, s, &s->held_m, &s->held);
	s->have_held = false;
	buf_reset(l, &s->held);
	if (s->held_blank) {
		s->held_blank = false;
		emit(l, s, &s->blank_m, &empty);
	}
}

static void meta_from_chunk(struct meta *m, const struct ebt_log_chunk *c)
{
	*m = (struct meta){ .ts = c->ts_ns, .tid = c->tid, .lines = 1 };
	if (c->ctx) {
		m->has_ctx = true;
		m->ctx = *c->ctx;
	}
}

/* The first byte of a line is being consumed: its write gives the meta. */
static void start_line(struct ebt_logs *l, struct lstream *s)
{
	if (s->started)
		return;
	if (l->chunk)
		meta_from_chunk(&s->cur_m, l->chunk);
	s->cur_m.flags = 0;
	s->cur_m.lines = 1;
	if (s->gap)
		s->cur_m.flags |= EBT_LOG_TRUNCATED;
	if (s->in_split)
		s->cur_m.flags |= EBT_LOG_SPLIT;
	s->gap = false;
	s->started = true;
}

/* cur reached max_line: it leaves as one piece, the line goes on. */
static void split_line(struct ebt_logs *l, struct lstream *s)
{
	if (!s->in_split)
		l->st.lines_split++;
	s->in_split = true;
	s->cur_m.flags |= EBT_LOG_SPLIT;
	emit_held(l, s);
	emit(l, s, &s->cur_m, &s->cur);
	s->cur.len = 0;
	s->started = false;
	start_line(l, s); /* without a chunk (tick) the meta carries over */
}

/* Append an indivisible unit (a character or an escape) to cur. */
static void put_unit(struct ebt_logs *l, struct lstream *s, const char *u,
		     size_t n)
{
	if (s->cur.len + n > l->cfg.max_line)
		split_line(l, s);
	if (buf_reserve(l, &s->cur, n) != 0) {
		l->st.bytes_dropped += n;
		return;
	}
	memcpy(s->cur.p + s->cur.len, u, n);
	s->cur.len += n;
}

static void put_escape(struct ebt_logs *l, struct lstream *s, uint8_t b)
{
	char esc[ESCAPE_LEN];

	escape_byte(b, esc);
	s->cur_m.flags |= EBT_LOG_ESCAPED;
	l->st.bytes_escaped++;
	put_unit(l, s, esc, sizeof(esc));
}

/* Append ASCII bytes, splitting the line wherever max_line is reached. */
static void put_run(struct ebt_logs *l, struct lstream *s, const uint8_t *p,
		    size_t n)
{
	while (n > 0) {
		size_t room = l->cfg.max_line - s->cur.len, take;

		if (room == 0) {
			split_line(l, s);
			continue;
		}
		take = n < room ? n : room;
		if (buf_reserve(l, &s->cur, take) != 0) {
			l->st.bytes_dropped += n;
			return;
		}
		memcpy(s->cur.p + s->cur.len, p, take);
		s->cur.len += take;
		p += take;
		n -= take;
	}
}

/* An incomplete character at the end of a line: escape its bytes. */
static void flush_carry(struct ebt_logs *l, struct lstream *s)
{
	uint8_t n = s->carry_len;

	s->carry_len = 0;
	for (uint8_t i = 0; i < n; i++)
		put_escape(l, s, s->carry[i]);
}

/*
 * The carried start of a character meets the next bytes. Returns how many
 * of p it used; the carry is empty afterwards unless p ran out first.
 */
static size_t resume_carry(struct ebt_logs *l, struct lstream *s,
			   const uint8_t *p, size_t n)
{
	uint8_t tmp[4];
	size_t k = s->carry_len, used;
	int r;

	memcpy(tmp, s->carry, k);
	for (used = 0; k < sizeof(tmp) && used < n; used++)
		tmp[k++] = p[used];
	r = ebt_utf8_seq(tmp, k);
	if (r < 0) {
		memcpy(s->carry, tmp, k);
		s->carry_len = (uint8_t)k;
		return n;
	}
	if (r == 0) {
		flush_carry(l, s);
		return 0;
	}
	used = (size_t)r - s->carry_len;
	s->carry_len = 0;
	put_unit(l, s, (const char *)tmp, (size_t)r);
	return used;
}

/* Append line bytes (no '\n'), escaping what is not valid UTF-8. */
static void append_text(struct ebt_logs *l, struct lstream *s,
			const uint8_t *p, size_t n)
{
	size_t i = 0;

	if (s->carry_len)
		i = resume_carry(l, s, p, n);
	while (i < n) {
		size_t run = ascii_run(p + i, n - i);
		int r;

		if (run) {
			put_run(l, s, p + i, run);
			i += run;
			continue;
		}
		r = ebt_utf8_seq(p + i, n - i);
		if (r > 0) {
			put_unit(l, s, (const char *)p + i, (size_t)r);
			i += (size_t)r;
		} else if (r < 0) {
			memcpy(s->carry, p + i, n - i);
			s->carry_len = (uint8_t)(n - i);
			return;
		} else {
			put_escape(l, s, p[i++]);
		}
	}
}

/* Written by the same thread for the same request (or for none): a
 * logger printing its message then the exception under it. */
static bool same_writer(const struct meta *a, const struct meta *b)
{
	return a->tid == b->tid && a->has_ctx == b->has_ctx &&
	       (!a->has_ctx || memcmp(a->ctx.span_id, b->ctx.span_id,
				      sizeof(a->ctx.span_id)) == 0);
}

/* Does cur continue the held record? A stack trace's first line only
 * when the same writer wrote both and the held record is one line, the
 * message a logger prints the trace under (a printStackTrace after an
 * unrelated line, or right after another trace, stays its own record),
 * and it alone may follow a held blank line (Spring Boot's pattern prints
 * one between the message and the trace).
 * Other continuation lines only from the thread that wrote the held
 * record: a trace is printed by one thread, and a frame line of another
 * thread's trace must not join this one. */
static bool continues_held(const struct lstream *s)
{
	bool throwable = java_throwable(s->cur.p, s->cur.len);

	if (!s->have_held || !s->held.len)
		return false;
	if (throwable)
		return s->held_m.lines == 1 &&
		       same_writer(&s->held_m, &s->cur_m);
	return !s->held_blank && s->held_m.tid == s->cur_m.tid &&
	       is_continuation(s->cur.p, s->cur.len);
}

/* Join cur to the held record (with '\n') if it continues it. */
static bool try_join(struct ebt_logs *l, struct lstream *s)
{
	struct buf *h = &s->held;
	size_t sep = s->held_blank ? 2 : 1;

	if (!continues_held(s) ||
	    h->len + sep + s->cur.len > l->cfg.max_line ||
	    buf_reserve(l, h, sep + s->cur.len) != 0)
		return false;
	memcpy(h->p + h->len, "\n\n", sep);
	h->len += sep;
	memcpy(h->p + h->len, s->cur.p, s->cur.len);
	h->len += s->cur.len;
	s->held_m.flags |= s->cur_m.flags;
	s->held_m.lines += (uint32_t)sep;
	s->held_blank = false;
	l->st.lines_joined += sep;
	return true;
}

/* A blank line right after a held record: hold it too, until the next
 * line shows whether a stack trace follows. */
static bool hold_blank(struct lstream *s)
{
	if (!s->have_held || s->held_blank || s->cur.len || s->cur_m.flags)
		return false;
	s->held_blank = true;
	s->blank_m = s->cur_m;
	return true;
}

/* cur is a complete physical line (newline seen, or flushed: flags). */
static void end_line(struct ebt_logs *l, struct lstream *s, uint32_t flags)
{
	struct buf tmp;

	flush_carry(l, s);
	if (!flags && s->cur.len && s->cur.p[s->cur.len - 1] == '\r')
		s->cur.len--; /* CRLF */
	s->cur_m.flags |= flags;
	s->started = false;
	s->in_split = false;
	if (!l->cfg.multiline) {
		emit(l, s, &s->cur_m, &s->cur);
		buf_reset(l, &s->cur);
		return;
	}
	if (try_join(l, s) || hold_blank(s)) {
		buf_reset(l, &s->cur);
		return;
	}
	emit_held(l, s);
	tmp = s->held;
	s->held = s->cur;
	s->cur = tmp;
	s->cur.len = 0;
	s->held_m = s->cur_m;
	s->have_held = true;
}

/* Emit everything the stream holds. */
static void flush_stream(struct ebt_logs *l, struct lstream *s)
{
	if (s->started || s->carry_len)
		end_line(l, s, EBT_LOG_NO_NEWLINE);
	emit_held(l, s);
}

/* ---- streams ------------------------------------------------------------- */

static void lru_unlink(struct ebt_logs *l, struct lstream *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		l->lru_head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		l->lru_tail = s->prev;
	s->prev = s->next = NULL;
}

static void lru_append(struct ebt_logs *l, struct lstream *s)
{
	s->prev = l->lru_tail;
	s->next = NULL;
	if (l->lru_tail)
		l->lru_tail->next = s;
	else
		l->lru_head = s;
	l->lru_tail = s;
}

static void stream_free(struct ebt_logs *l, struct lstream *s)
{
	lru_unlink(l, s);
	htab_del(l->streams, &s->key);
	buf_free(l, &s->cur);
	buf_free(l, &s->held);
	free(s);
	l->st.streams--;
}

static void flush_and_free(struct ebt_logs *l, struct lstream *s)
{
	flush_stream(l, s);
	stream_free(l, s);
}

static struct lstream *stream_get(struct ebt_logs *l,
				  const struct ebt_log_chunk *c)
{
	struct skey key = { .tgid = c->tgid, .stream = c->stream };
	struct lstream *s = htab_get(l->streams, &key);
	int err = 0;

	if (s)
		return s;
	if (l->st.streams >= l->cfg.max_streams && l->lru_head) {
		l->st.streams_evicted++;
		flush_and_free(l, l->lru_head);
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->key = key;
	htab_put(l->streams, &key, s, &err);
	if (err) {
		free(s);
		return NULL;
	}
	lru_append(l, s);
	l->st.streams++;
	return s;
}

/* Keep room for s to grow to two full lines within max_bytes. */
static void make_room(struct ebt_logs *l, struct lstream *s)
{
	uint64_t reserve = 2 * ((uint64_t)l->cfg.max_line + 1);

	while (l->st.buffered_bytes + reserve > l->cfg.max_bytes &&
	       l->lru_head && l->lru_head != s) {
		l->st.forced_flushes++;
		flush_and_free(l, l->lru_head);
	}
}

/* ---- API ----------------------------------------------------------------- */

void ebt_logs_config_default(struct ebt_logs_config *cfg)
{
	*cfg = (struct ebt_logs_config){
		.max_line = EBT_LOGS_DEFAULT_MAX_LINE,
		.flush_timeout_ns = EBT_LOGS_DEFAULT_FLUSH_NS,
		.multiline = true,
		.max_streams = EBT_LOGS_DEFAULT_MAX_STREAMS,
		.max_bytes = EBT_LOGS_DEFAULT_MAX_BYTES,
	};
}

static void apply_config(struct ebt_logs_config *out,
			 const struct ebt_logs_config *in)
{
	ebt_logs_config_default(out);
	if (!in)
		return;
	out->multiline = in->multiline;
	if (in->max_line)
		out->max_line = in->max_line;
	if (out->max_line < EBT_LOGS_MIN_MAX_LINE)
		out->max_line = EBT_LOGS_MIN_MAX_LINE;
	if (out->max_line > EBT_LOGS_MAX_MAX_LINE)
		out->max_line = EBT_LOGS_MAX_MAX_LINE;
	if (in->flush_timeout_ns)
		out->flush_timeout_ns = in->flush_timeout_ns;
	if (in->max_streams)
		out->max_streams = in->max_streams;
	if (in->max_bytes)
		out->max_bytes = in->max_bytes;
	if (out->max_bytes < 4 * (uint64_t)out->max_line)
		out->max_bytes = 4 * (uint64_t)out->max_line;
}

struct ebt_logs *ebt_logs_new(const struct ebt_logs_config *cfg,
			      ebt_log_sink sink, void *sink_ctx)
{
	struct ebt_logs *l;

	if (!sink)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	apply_config(&l->cfg, cfg);
	l->sink = sink;
	l->sink_ctx = sink_ctx;
	l->streams = htab_new(sizeof(struct skey));
	if (!l->streams) {
		free(l);
		return NULL;
	}
	return l;
}

void ebt_logs_free(struct ebt_logs *l)
{
	if (!l)
		return;
	while (l->lru_head)
		stream_free(l, l->lru_head);
	htab_free(l->streams, NULL);
	free(l);
}

/* Lost bytes: end the current line (its rest is unknown) and mark the next. */
static void lost_bytes(struct ebt_logs *l, struct lstream *s, uint64_t n)
{
	l->st.bytes_lost += n;
	if (s->started || s->carry_len)
		end_line(l, s, EBT_LOG_TRUNCATED);
	s->gap = true;
}

static void feed_bytes(struct ebt_logs *l, struct lstream *s,
		       const uint8_t *p, size_t n)
{
	const uint8_t *end;

	if (n == 0)
		return;
	end = p + n;
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		const uint8_t *seg_end = nl ? nl : end;

		start_line(l, s);
		append_text(l, s, p, (size_t)(seg_end - p));
		if (!nl)
			break;
		end_line(l, s, 0);
		p = nl + 1;
	}
}

void ebt_logs_feed(struct ebt_logs *l, const struct ebt_log_chunk *c)
{
	struct lstream *s;
	uint32_t cap;

	if (!l || !c || (c->stream != EBT_LOG_STDOUT &&
			 c->stream != EBT_LOG_STDERR))
		return;
	cap = c->data ? c->cap_len : 0;
	l->st.chunks++;
	l->st.bytes_in += cap;
	s = stream_get(l, c);
	if (!s) {
		l->st.bytes_dropped += cap;
		return;
	}
	s->last_ns = c->ts_ns;
	lru_unlink(l, s);
	lru_append(l, s);
	make_room(l, s);
	l->chunk = c;
	feed_bytes(l, s, c->data, cap);
	if (c->total_len > cap) {
		lost_bytes(l, s, c->total_len - cap);
		/* the cut write ended its line: the next one starts whole */
		if (c->ends_line)
			s->gap = false;
	}
	l->chunk = NULL;
}

/*
 * A complete line held for joining leaves after EBT_LOGS_HOLD_NS; a line
 * still without its newline waits for the rest up to flush_timeout (a
 * prompt, "Downloading... " then "done" seconds later), as a container
 * runtime's log waits for the newline.
 */
void ebt_logs_tick(struct ebt_logs *l, uint64_t now_ns)
{
	uint64_t hold = l ? l->cfg.flush_timeout_ns : 0;
	struct lstream *s, *next;

	if (!l)
		return;
	if (hold > EBT_LOGS_HOLD_NS)
		hold = EBT_LOGS_HOLD_NS;
	for (s = l->lru_head; s && now_ns >= s->last_ns &&
			      now_ns - s->last_ns >= hold; s = next) {
		next = s->next;
		if ((s->started || s->carry_len) &&
		    now_ns - s->last_ns < l->cfg.flush_timeout_ns)
			emit_held(l, s);
		else
			flush_and_free(l, s);
	}
}

/* fn on each stream (stdout, stderr) that process tgid has open. */
static void each_stream(struct ebt_logs *l, uint32_t tgid,
			void (*fn)(struct ebt_logs *, struct lstream *))
{
	if (!l)
		return;
	for (uint32_t st = EBT_LOG_STDOUT; st <= EBT_LOG_STDERR; st++) {
		struct skey key = { .tgid = tgid, .stream = st };
		struct lstream *s = htab_get(l->streams, &key);

		if (s)
			fn(l, s);
	}
}

void ebt_logs_forget(struct ebt_logs *l, uint32_t tgid)
{
	each_stream(l, tgid, flush_and_free);
}

void ebt_logs_release(struct ebt_logs *l, uint32_t tgid)
{
	each_stream(l, tgid, emit_held);
}

void ebt_logs_flush_all(struct ebt_logs *l)
{
	if (!l)
		return;
	while (l->lru_head)
		flush_and_free(l, l->lru_head);
}

void ebt_logs_stats(const struct ebt_logs *l, struct ebt_logs_stats *out)
{
	if (l)
		*out = l->st;
	else
		memset(out, 0, sizeof(*out));
}

/* ---- severity ------------------------------------------------------------ */

struct level {
	const char *word;
	const char *text; /* OTel severityText */
	int number;       /* OTel SeverityNumber */
};

static const struct level levels[] = {
	{ "TRACE", "TRACE", 1 },     { "DEBUG", "DEBUG", 5 },
	{ "FINE", "DEBUG", 5 },      { "INFO", "INFO", 9 },
	{ "NOTICE", "INFO", 10 },    { "WARN", "WARN", 13 },
	{ "WARNING", "WARN", 13 },   { "ERROR", "ERROR", 17 },
	{ "ERR", "ERROR", 17 },      { "SEVERE", "ERROR", 17 },
	{ "FATAL", "FATAL", 21 },    { "CRITICAL", "FATAL", 21 },
	{ "CRIT", "FATAL", 21 },     { "PANIC", "FATAL", 21 },
};

static const char *const level_keys[] = {
	"level", "lvl", "severity", "loglevel",
};

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

static size_t word_len(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && is_alnum(s[i]))
		i++;
	return i;
}

static const struct level *find_level(const char *w, size_t n, bool nocase)
{
	for (size_t i = 0; i < ARRAY_SIZE(levels); i++) {
		const char *lw = levels[i].word;

		if (strlen(lw) != n)
			continue;
		if (nocase ? strncasecmp(w, lw, n) == 0 : memcmp(w, lw, n) == 0)
			return &levels[i];
	}
	return NULL;
}

/* After a key: '=', ':' (JSON: '":'), optional quote and blanks. */
static size_t value_start(const char *s, size_t n, size_t i)
{
	if (i < n && s[i] == '"')
		i++;
	if (i >= n || (s[i] != '=' && s[i] != ':'))
		return 0;
	i++;
	while (i < n && (s[i] == ' ' || s[i] == '"'))
		i++;
	return i;
}

/* level=warn, "level":"error", severity: INFO ... */
static const struct level *level_field(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == '.'))
			continue;
		for (size_t k = 0; k < ARRAY_SIZE(level_keys); k++) {
			size_t kl = strlen(level_keys[k]), v;

			if (n - i <= kl ||
			    strncasecmp(s + i, level_keys[k], kl) != 0)
				continue;
			v = value_start(s, n, i + kl);
			if (v)
				return find_level(s + v, word_len(s + v, n - v),
						  true);
		}
	}
	return NULL;
}

/* An upper-case level word standing alone: "2024-01-01 ERROR [main] x". */
static const struct level *level_word(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t w = word_len(s + i, n - i);
		const struct level *lv;

		if (w == 0) {
			i++;
			continue;
		}
		lv = find_level(s + i, w, false);
		if (lv)
			return lv;
		i += w;
	}
	return NULL;
}

const char *ebt_log_severity(const char *line, size_t len, int *number)
{
	const struct level *lv;

	lv = level_field(line, len < SEVERITY_FIELD_SCAN ? len :
							   SEVERITY_FIELD_SCAN);
	if (!lv)
		lv = level_word(line, len < SEVERITY_WORD_SCAN ?
					      len : SEVERITY_WORD_SCAN);
	if (number)
		*number = lv ? lv->number : 0;
	return lv ? lv->text : NULL;
}
