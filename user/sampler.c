/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Head sampling (sampler.h). traceidratio decides as the OpenTelemetry
 * Java SDK does, on the trace id's last 8 bytes read as a signed
 * big-endian integer: kept when its absolute value is below ratio times
 * INT64_MAX. A trace another service sampled by ratio is then kept or
 * dropped here alike, and so is every span of a trace this host makes,
 * wherever it ends.
 */
#include "sampler.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "htab.h"

struct verdict {
	bool keep;
	uint64_t at_ns;
};

/* ratio * INT64_MAX in doubles, as Java computes it; its cast to an
 * integer saturates there, and must be kept in range here (2^63 does
 * not fit). */
static int64_t ratio_bound(double ratio)
{
	double b = ratio * (double)INT64_MAX;

	if (ratio <= 0.0)
		return INT64_MIN;
	return b >= (double)INT64_MAX ? INT64_MAX : (int64_t)b;
}

int ebt_sampler_init(struct ebt_sampler *s, enum ebt_sampler_kind kind,
		     double ratio)
{
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->all = ratio >= 1.0;
	s->bound = ratio_bound(ratio);
	s->parent_said = htab_new(16);
	return s->parent_said ? 0 : -1;
}

void ebt_sampler_fini(struct ebt_sampler *s)
{
	htab_free(s->parent_said, free);
	s->parent_said = NULL;
}

static bool parent_based(enum ebt_sampler_kind k)
{
	return k == EBT_SAMPLER_PB_ON || k == EBT_SAMPLER_PB_OFF ||
	       k == EBT_SAMPLER_PB_RATIO;
}

static bool ratio_keeps(const struct ebt_sampler *s, const uint8_t id[16])
{
	uint64_t u = 0;
	int64_t v;

	if (s->all)
		return true;
	for (int i = 8; i < 16; i++)
		u = u << 8 | id[i];
	memcpy(&v, &u, sizeof(v));
	/* |INT64_MIN| does not fit: Java's Math.abs leaves it negative */
	return (v == INT64_MIN ? v : llabs(v)) < s->bound;
}

/* What the sampler decides for a trace that begins here (a root). */
static bool root_keeps(const struct ebt_sampler *s, const uint8_t id[16])
{
	switch (s->kind) {
	case EBT_SAMPLER_ALWAYS_OFF:
	case EBT_SAMPLER_PB_OFF:
		return false;
	case EBT_SAMPLER_RATIO:
	case EBT_SAMPLER_PB_RATIO:
		return ratio_keeps(s, id);
	default:
		return true;
	}
}

void ebt_sampler_note_parent(struct ebt_sampler *s,
			     const uint8_t trace_id[16], bool sampled,
			     uint64_t now_ns)
{
	struct verdict *v;
	int err = 0;

	if (!parent_based(s->kind) || root_keeps(s, trace_id) == sampled) {
		free(htab_del(s->parent_said, trace_id));
		return;
	}
	v = htab_get(s->parent_said, trace_id);
	if (!v) {
		if (htab_len(s->parent_said) >= EBT_SAMPLER_MAX_NOTED ||
		    !(v = malloc(sizeof(*v))))
			return; /* full: the root sampler decides */
		htab_put(s->parent_said, trace_id, v, &err);
		if (err) {
			free(v);
			return;
		}
	}
	v->keep = sampled;
	v->at_ns = now_ns;
}

bool ebt_sampler_keep(const struct ebt_sampler *s, const uint8_t trace_id[16])
{
	const struct verdict *v;

	if (s->kind == EBT_SAMPLER_ALWAYS_ON)
		return true;
	v = htab_len(s->parent_said) ? htab_get(s->parent_said, trace_id)
				     : NULL;
	return v ? v->keep : root_keeps(s, trace_id);
}

static bool verdict_old(const void *key, void *val, void *ctx)
{
	const struct verdict *v = val;
	uint64_t now = *(const uint64_t *)ctx;

	(void)key;
	if (now - v->at_ns < EBT_SAMPLER_TTL_NS)
		return false;
	free(val);
	return true;
}

void ebt_sampler_expire(struct ebt_sampler *s, uint64_t now_ns)
{
	if (htab_len(s->parent_said))
		htab_sweep(s->parent_said, verdict_old, &now_ns);
}

bool ebt_sampler_parse_ratio(const char *v, double *out)
{
	char *end;
	double d;

	if (!v || !*v)
		return false;
	errno = 0;
	d = strtod(v, &end);
	if (errno || *end || !isfinite(d) || d < 0.0 || d > 1.0)
		return false;
	*out = d;
	return true;
}
