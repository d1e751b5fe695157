/* SPDX-License-Identifier: Apache-2.0 */
/* Console exporter: readable text lines, or OTLP/JSON-shaped JSON lines. */
#ifndef EBT_CONSOLE_H
#define EBT_CONSOLE_H

#include <stdio.h>

#include "config.h"
#include "span.h"

void ebt_console_span(FILE *out, enum ebt_format fmt,
		      const struct ebt_span *s);
/* One span as an OTLP/JSON span object with its resource (caller frees). */
char *ebt_span_to_json(const struct ebt_span *s);

#endif /* EBT_CONSOLE_H */
