/* SPDX-License-Identifier: Apache-2.0 */
/* Console exporter: readable text lines, or OTLP/JSON-shaped JSON lines. */
#ifndef EBT_CONSOLE_H
#define EBT_CONSOLE_H

#include <stdio.h>

#include "config.h"
#include "logs.h"
#include "span.h"

/* Write one span or log line; ebt_console_flush() pushes the lines out
 * (the main loop calls it once per ring-buffer drain). */
void ebt_console_span(FILE *out, enum ebt_format fmt,
		      const struct ebt_span *s);
void ebt_console_flush(FILE *out, enum ebt_format fmt);
/* One span as an OTLP/JSON span object with its resource (caller frees). */
char *ebt_span_to_json(const struct ebt_span *s);

/*
 * One log record (res: the writing process's resource, may be NULL):
 * text "time LOG stream service trace= span= | line", continuation lines of
 * a joined record indented; or one OTLP/JSON LogRecord per line.
 */
void ebt_console_log(FILE *out, enum ebt_format fmt,
		     const struct ebt_log_record *r,
		     const struct ebt_resource *res);
/*
 * OTLP/JSON-shaped log record (caller frees): timeUnixNano, severityNumber
 * and severityText (only when the line states a level, see
 * ebt_log_severity(); never guessed from the stream), body.stringValue,
 * attributes (log.iostream, thread.id, and ebpftrace.log.* for joined,
 * split, truncated, escaped or unterminated records), traceId and spanId
 * ("" when no span was active), resource.attributes.
 */
char *ebt_log_to_json(const struct ebt_log_record *r,
		      const struct ebt_resource *res);

#endif /* EBT_CONSOLE_H */
