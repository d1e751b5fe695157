/* SPDX-License-Identifier: Apache-2.0 */
#include "logpipe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console.h"
#include "log.h"

static void emit_record(void *ctx, const struct ebt_log_record *r)
{
	struct ebt_logpipe *p = ctx;
	struct ebt_resource *res =
		ebt_resources_get(p->resources, r->tgid, NULL);

	if (p->format != EBT_FORMAT_NONE)
		ebt_console_log(stdout, p->format, r, res);
	if (p->loki)
		loki_exporter_submit(p->loki, res, r);
}

static int start_loki(struct ebt_logpipe *p, const struct ebt_config *cfg,
		      char *err, size_t errlen)
{
	struct loki_config lc = {0};
	char *url = NULL;

	if (loki_push_url(cfg->loki_endpoint, &url) != 0) {
		snprintf(err, errlen, "loki.endpoint '%s' is not a URL",
			 cfg->loki_endpoint);
		return -1;
	}
	lc.url = url;
	lc.tenant = cfg->loki_tenant;
	lc.username = cfg->loki_username;
	lc.password = cfg->loki_password;
	lc.bearer_token = cfg->loki_bearer_token;
	lc.cluster = cfg->cluster;
	lc.timeout_ms = cfg->loki_timeout_ms;
	lc.gzip = true;
	lc.queue_bytes = cfg->loki_queue_bytes;
	lc.batch_bytes = cfg->loki_batch_bytes;
	lc.batch_timeout_ms = cfg->loki_batch_timeout_ms;
	lc.ca_file = cfg->loki_ca_file;
	lc.cert_file = cfg->loki_cert_file;
	lc.key_file = cfg->loki_key_file;
	p->loki = loki_exporter_new(&lc, err, errlen);
	if (p->loki)
		log_info("pushing log lines to %s", url);
	free(url);
	return p->loki ? 0 : -1;
}

int ebt_logpipe_start(struct ebt_logpipe *p, const struct ebt_config *cfg,
		      struct ebt_resources *resources, char *err,
		      size_t errlen)
{
	struct ebt_logs_config lc;

	memset(p, 0, sizeof(*p));
	p->resources = resources;
	p->format = cfg->format;
	if (!cfg->logs_enabled && !cfg->k8s_events_enabled)
		return 0; /* Kubernetes events need the exporter too */
	if (cfg->loki_endpoint && cfg->loki_endpoint[0] &&
	    start_loki(p, cfg, err, errlen) != 0)
		return -1;
	if (!cfg->logs_enabled)
		return 0;
	ebt_logs_config_default(&lc);
	lc.max_line = (uint32_t)cfg->logs_max_line;
	lc.flush_timeout_ns = cfg->logs_flush_timeout_ms * 1000000ULL;
	lc.multiline = cfg->logs_multiline;
	p->logs = ebt_logs_new(&lc, emit_record, p);
	if (!p->logs) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void ebt_logpipe_stop(struct ebt_logpipe *p, uint64_t deadline_ms,
		      struct ebt_logs_stats *ls, struct loki_stats *ks)
{
	memset(ls, 0, sizeof(*ls));
	memset(ks, 0, sizeof(*ks));
	if (p->logs) {
		ebt_logs_flush_all(p->logs);
		ebt_logs_stats(p->logs, ls);
		ebt_logs_free(p->logs);
		p->logs = NULL;
	}
	if (p->loki) {
		loki_exporter_shutdown(p->loki, deadline_ms, ks);
		p->loki = NULL;
	}
}
