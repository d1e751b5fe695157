/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Enrichment stage: process -> OpenTelemetry resource (service.name,
 * process.*, host.name, telemetry.sdk.*), cached per process.
 */
#ifndef EBT_RESOURCE_H
#define EBT_RESOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "span.h"

struct ebt_resources;

/* extra: "k=v,..." added to every resource (the tracer's own config). */
struct ebt_resources *ebt_resources_new(const char *extra);
void ebt_resources_free(struct ebt_resources *rs);
/* Borrowed reference, valid until ebt_resources_forget(tgid). */
struct ebt_resource *ebt_resources_get(struct ebt_resources *rs,
				       uint32_t tgid, const char *comm);
/* As ebt_resources_get for a child forked from parent; if the child is
 * already gone, its program is the parent's (a fork without exec). */
struct ebt_resource *ebt_resources_get_forked(struct ebt_resources *rs,
					      uint32_t child, uint32_t parent,
					      const char *comm);
void ebt_resources_forget(struct ebt_resources *rs, uint32_t tgid);

/*
 * Service name a person would recognise from a command line: the jar or
 * main class for the JVM, the script for interpreters, else the executable.
 * argv is the NUL-separated /proc/<pid>/cmdline content.
 */
void ebt_service_name_from_cmdline(const char *cmdline, size_t len,
				   char *out, size_t outsz);

/*
 * Parse "k=v,k2=v2" (OTEL_RESOURCE_ATTRIBUTES, percent-encoded values),
 * calling fn for each pair. Returns pairs parsed, -1 on malformed input.
 */
int ebt_parse_kv_list(const char *s, void (*fn)(void *ctx, const char *k,
						const char *v), void *ctx);

#endif /* EBT_RESOURCE_H */
