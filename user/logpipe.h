/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The log pipeline of `run`: captured stdout/stderr chunks -> line
 * assembler (logs.c) -> console and Loki exporter (loki_export.c).
 */
#ifndef EBT_LOGPIPE_H
#define EBT_LOGPIPE_H

#include "config.h"
#include "logs.h"
#include "loki.h"
#include "resource.h"

struct ebt_logpipe {
	struct ebt_logs *logs;
	struct loki_exporter *loki;
	struct ebt_resources *resources; /* borrowed from the tracer */
	enum ebt_format format;
};

/* 0 ok (logs may be off: p->logs NULL), -1 with err set. */
int ebt_logpipe_start(struct ebt_logpipe *p, const struct ebt_config *cfg,
		      struct ebt_resources *resources, char *err,
		      size_t errlen);
/* Flush buffered lines, stop the exporter; final counters out. */
void ebt_logpipe_stop(struct ebt_logpipe *p, uint64_t deadline_ms,
		      struct ebt_logs_stats *ls, struct loki_stats *ks);

#endif /* EBT_LOGPIPE_H */
