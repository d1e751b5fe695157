/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Log line assembler: turns what processes write to stdout/stderr (chunks,
 * one per captured write) into log records.
 *
 * Per (process, stream) it reassembles lines from partial writes, splits
 * writes holding several lines, escapes invalid UTF-8 and NUL bytes as
 * \xNN, splits lines longer than max_line, flushes a line without a newline
 * after flush_timeout, and (multiline on) joins Java stack-trace lines to
 * the record they follow. Order within a stream is kept and timestamps of
 * one stream strictly increase (equal ones are nudged by 1 ns), so a log
 * store that deduplicates identical (timestamp, line) pairs keeps them all.
 *
 * Pure and single-threaded: no clock, no I/O. Records are handed to a sink
 * callback from inside feed(), tick(), forget() and flush_all(); the sink
 * must not call back into the assembler.
 */
#ifndef EBT_LOGS_H
#define EBT_LOGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EBT_LOGS_DEFAULT_MAX_LINE (64u * 1024)
#define EBT_LOGS_MIN_MAX_LINE 256u
/* Loki refuses lines over 256 KB; stay below with room for escapes. */
#define EBT_LOGS_MAX_MAX_LINE (192u * 1024)
#define EBT_LOGS_DEFAULT_FLUSH_NS 5000000000ull
/* A complete line held back to see whether a stack trace's next line
 * joins it waits at most this long (or flush_timeout if shorter). */
#define EBT_LOGS_HOLD_NS 1000000000ull
#define EBT_LOGS_DEFAULT_MAX_STREAMS 4096u
#define EBT_LOGS_DEFAULT_MAX_BYTES (16ull << 20)

enum ebt_log_stream {
	EBT_LOG_STDOUT = 1,
	EBT_LOG_STDERR = 2,
};

/* Record flags (a joined record has the union of its lines' flags). */
enum ebt_log_flags {
	EBT_LOG_SPLIT = 1u << 0,      /* piece of a line longer than max_line */
	EBT_LOG_TRUNCATED = 1u << 1,  /* bytes of this line were not captured */
	EBT_LOG_NO_NEWLINE = 1u << 2, /* flushed (timeout, exit) without '\n' */
	EBT_LOG_ESCAPED = 1u << 3,    /* invalid UTF-8 / NUL escaped as \xNN */
};

/* The trace context active on the writing thread. */
struct ebt_log_ctx {
	uint8_t trace_id[16];
	uint8_t span_id[8];
};

/*
 * One captured write. data holds the first cap_len bytes of the total_len
 * bytes the syscall wrote; total_len > cap_len means the tail was not
 * captured. A chunk with cap_len 0 and total_len N reports N lost bytes
 * (e.g. a lost ring record). ts_ns: any clock, the same one as tick()'s;
 * records carry it as is (pass unix-epoch ns for Loki).
 */
struct ebt_log_chunk {
	uint32_t tgid;
	uint32_t tid;
	uint8_t stream; /* enum ebt_log_stream */
	uint64_t ts_ns;
	const uint8_t *data;
	uint32_t cap_len;
	uint32_t total_len;
	bool ends_line; /* total_len > cap_len, and its last byte was '\n' */
	const struct ebt_log_ctx *ctx; /* NULL: no span active */
};

struct ebt_log_record {
	uint64_t ts_ns;  /* write of its first byte (nudged, see top) */
	uint32_t tgid;
	uint32_t tid;    /* thread that wrote the first byte */
	uint8_t stream;
	bool has_ctx;    /* trace_id/span_id valid: active at the first byte */
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint32_t flags;  /* enum ebt_log_flags */
	uint32_t lines;  /* physical lines in this record (>1: joined) */
	const char *line; /* valid UTF-8, no NUL, no '\n' unless joined;
			   * line[len] == '\0'; borrowed for the callback */
	size_t len;
};

typedef void (*ebt_log_sink)(void *ctx, const struct ebt_log_record *r);

struct ebt_logs_config {
	uint32_t max_line;         /* bytes of a record, after escaping */
	uint64_t flush_timeout_ns; /* idle time before a partial line goes
				    * (a held complete one: EBT_LOGS_HOLD_NS) */
	bool multiline;            /* join Java stack traces */
	uint32_t max_streams;      /* (process, stream) pairs buffered */
	uint64_t max_bytes;        /* buffer memory over all streams */
};

struct ebt_logs_stats {
	uint64_t chunks;          /* chunks fed */
	uint64_t bytes_in;        /* captured bytes fed */
	uint64_t bytes_lost;      /* written but not captured */
	uint64_t records;         /* records emitted */
	uint64_t lines;           /* physical lines in emitted records */
	uint64_t lines_split;     /* lines longer than max_line (split) */
	uint64_t records_truncated; /* records with EBT_LOG_TRUNCATED */
	uint64_t records_no_newline; /* flushed without a newline */
	uint64_t lines_joined;    /* lines joined to a previous record */
	uint64_t bytes_escaped;   /* input bytes written as \xNN */
	uint64_t forced_flushes;  /* streams flushed early: max_bytes */
	uint64_t streams_evicted; /* streams flushed+freed early: max_streams */
	uint64_t bytes_dropped;   /* input bytes lost: out of memory */
	uint64_t streams;         /* streams now buffered */
	uint64_t buffered_bytes;  /* buffer memory now held */
};

struct ebt_logs;

/* Defaults: 64 KiB lines, 5 s flush, multiline on, 4096 streams, 16 MiB. */
void ebt_logs_config_default(struct ebt_logs_config *cfg);
/*
 * cfg values of 0 take the defaults (except multiline); max_line is
 * clamped to [EBT_LOGS_MIN_MAX_LINE, EBT_LOGS_MAX_MAX_LINE] and max_bytes
 * raised to at least 4 * max_line. NULL on out of memory.
 */
struct ebt_logs *ebt_logs_new(const struct ebt_logs_config *cfg,
			      ebt_log_sink sink, void *sink_ctx);
/* Frees without emitting what is buffered (call flush_all first). */
void ebt_logs_free(struct ebt_logs *l);

void ebt_logs_feed(struct ebt_logs *l, const struct ebt_log_chunk *c);
/* Emit held records of streams idle for EBT_LOGS_HOLD_NS; flush and free
 * streams idle for flush_timeout (or idle with no partial line). */
void ebt_logs_tick(struct ebt_logs *l, uint64_t now_ns);
/* Process exited: emit what its streams hold and forget them. */
void ebt_logs_forget(struct ebt_logs *l, uint32_t tgid);
/* Process forked: emit the records it holds back for multiline joining
 * (not a line still being written), so its earlier lines do not come out
 * after those of the child, which writes to the same stdout. */
void ebt_logs_release(struct ebt_logs *l, uint32_t tgid);
/* Emit everything buffered (shutdown). */
void ebt_logs_flush_all(struct ebt_logs *l);
void ebt_logs_stats(const struct ebt_logs *l, struct ebt_logs_stats *out);

/*
 * Copy in[0..n) to out, writing invalid UTF-8 bytes and NUL as "\xNN".
 * out must hold 4 * n + 1 bytes; it is NUL-terminated. Returns the length
 * written; *escaped (may be NULL) gets the number of bytes escaped.
 */
size_t ebt_utf8_escape(const uint8_t *in, size_t n, char *out,
		       size_t *escaped);

/*
 * Severity written in a line, if any: a logfmt/JSON level field
 * (level=warn, "level":"error", lvl, severity) or an upper-case level word
 * (ERROR, [WARN], INFO ...) near the start. Returns the OTel severityText
 * ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL") and sets *number
 * to the OTel SeverityNumber (1, 5, 9, 13, 17, 21); NULL and 0 if none.
 */
const char *ebt_log_severity(const char *line, size_t len, int *number);

#endif /* EBT_LOGS_H */
