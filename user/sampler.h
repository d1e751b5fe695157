/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Head sampling of spans at export (OTEL_TRACES_SAMPLER): which traces
 * are kept, decided per trace id so that every span of a trace on this
 * host, and of services whose OpenTelemetry SDK samples the same way,
 * shares the decision.
 */
#ifndef EBT_SAMPLER_H
#define EBT_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>

struct htab;

enum ebt_sampler_kind {
	EBT_SAMPLER_ALWAYS_ON,
	EBT_SAMPLER_ALWAYS_OFF,
	EBT_SAMPLER_RATIO,    /* traceidratio */
	EBT_SAMPLER_PB_ON,    /* parentbased_always_on (the SDKs' default) */
	EBT_SAMPLER_PB_OFF,   /* parentbased_always_off */
	EBT_SAMPLER_PB_RATIO, /* parentbased_traceidratio */
};

struct ebt_sampler {
	enum ebt_sampler_kind kind;
	int64_t bound;        /* traceidratio: keep |random part| < bound */
	bool all;             /* traceidratio 1: keep every trace */
	/* Traces whose incoming traceparent decided otherwise than the root
	 * sampler would (parent-based kinds): trace id -> struct verdict.
	 * Noted when the request is read, before any of its spans ends. */
	struct htab *parent_said;
};

/* ratio: the argument of the ratio kinds, in [0, 1]. 0 or -1 (no memory). */
int ebt_sampler_init(struct ebt_sampler *s, enum ebt_sampler_kind kind,
		     double ratio);
void ebt_sampler_fini(struct ebt_sampler *s);
/* A request came with a valid traceparent, its sampled flag this. */
void ebt_sampler_note_parent(struct ebt_sampler *s,
			     const uint8_t trace_id[16], bool sampled,
			     uint64_t now_ns);
/* Is a span of this trace exported? */
bool ebt_sampler_keep(const struct ebt_sampler *s, const uint8_t trace_id[16]);
/* Forget parent verdicts older than EBT_SAMPLER_TTL_NS. */
void ebt_sampler_expire(struct ebt_sampler *s, uint64_t now_ns);
/* "0.25" -> 0.25; false unless a number in [0, 1]. */
bool ebt_sampler_parse_ratio(const char *v, double *out);

#define EBT_SAMPLER_TTL_NS (300ull * 1000000000ull)
#define EBT_SAMPLER_MAX_NOTED 65536

#endif /* EBT_SAMPLER_H */
