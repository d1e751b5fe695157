/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where the API server is and how to authenticate: a kubeconfig file
 * (libyaml document API: current-context -> cluster + user) or the
 * in-cluster service account. Pure except ebt_k8s_incluster, which reads
 * the environment and checks the service account files exist.
 */
#include "k8s.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#define KUBECONFIG_MAX (4u << 20)
#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

void ebt_k8s_conn_cfg_free(struct ebt_k8s_conn_cfg *c)
{
	free(c->server);
	free(c->ca_file);
	free(c->ca_data);
	free(c->cert_file);
	free(c->key_file);
	free(c->cert_data);
	free(c->key_data);
	free(c->token);
	free(c->token_file);
	memset(c, 0, sizeof(*c));
}

/* ---- base64 ------------------------------------------------------------- */

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int ebt_base64_decode(const char *s, size_t len, char **out, size_t *outlen)
{
	char *o = malloc(len / 4 * 3 + 4);
	uint32_t acc = 0;
	size_t n = 0, bits = 0, pad = 0;

	if (!o)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int v = b64val(c);

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (v < 0 || pad) {
			free(o);
			return -1;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	if (pad > 2 || bits >= 6) {
		free(o);
		return -1;
	}
	o[n] = '\0';
	*out = o;
	*outlen = n;
	return 0;
}

/* ---- YAML navigation -------------------------------------------------------- */

static yaml_node_t *map_get(yaml_document_t *d, yaml_node_t *m,
			    const char *key)
{
	yaml_node_pair_t *p;

	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);

		if (k && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

static const char *map_str(yaml_document_t *d, yaml_node_t *m,
			   const char *key)
{
	yaml_node_t *v = map_get(d, m, key);

	return v && v->type == YAML_SCALAR_NODE ?
		       (const char *)v->data.scalar.value : NULL;
}

/* In list `section`, the entry with name `name`; its `inner` mapping. */
static yaml_node_t *named(yaml_document_t *d, yaml_node_t *root,
			  const char *section, const char *inner,
			  const char *name)
{
	yaml_node_t *seq = map_get(d, root, section);
	yaml_node_item_t *it;

	if (!seq || seq->type != YAML_SEQUENCE_NODE || !name)
		return NULL;
	for (it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(d, *it);
		const char *n = map_str(d, e, "name");

		if (n && strcmp(n, name) == 0)
			return map_get(d, e, inner);
	}
	return NULL;
}

/* A path as given, or joined to dir when relative. */
static char *path_in(const char *dir, const char *p)
{
	size_t n;
	char *s;

	if (!p || !p[0])
		return NULL;
	if (p[0] == '/' || !dir || !dir[0])
		return strdup(p);
	n = strlen(dir) + strlen(p) + 2;
	s = malloc(n);
	if (s)
		snprintf(s, n, "%s/%s", dir, p);
	return s;
}

/* A "-data" field (base64) into data and len; -1 when present but bad. */
static int take_data(yaml_document_t *d, yaml_node_t *m, const char *key,
		     char **data, size_t *len)
{
	const char *v = map_str(d, m, key);

	if (!v || !v[0])
		return 0;
	return ebt_base64_decode(v, strlen(v), data, len);
}

static int take_cluster(yaml_document_t *d, yaml_node_t *c, const char *dir,
			struct ebt_k8s_conn_cfg *out, char *err, size_t errlen)
{
	const char *server = map_str(d, c, "server");
	const char *insecure = map_str(d, c, "insecure-skip-tls-verify");

	if (!server || !server[0]) {
		snprintf(err, errlen, "the current context's cluster has no "
			 "server");
		return -1;
	}
	out->server = strdup(server);
	out->ca_file = path_in(dir, map_str(d, c, "certificate-authority"));
	out->insecure = insecure && strcmp(insecure, "true") == 0;
	if (take_data(d, c, "certificate-authority-data", &out->ca_data,
		      &out->ca_len) != 0) {
		snprintf(err, errlen, "certificate-authority-data is not "
			 "base64");
		return -1;
	}
	return 0;
}

static int take_user(yaml_document_t *d, yaml_node_t *u, const char *dir,
		     struct ebt_k8s_conn_cfg *out, char *err, size_t errlen)
{
	const char *tok = map_str(d, u, "token");

	if (!u)
		return 0; /* anonymous */
	out->cert_file = path_in(dir, map_str(d, u, "client-certificate"));
	out->key_file = path_in(dir, map_str(d, u, "client-key"));
	out->token_file = path_in(dir, map_str(d, u, "tokenFile"));
	if (tok && tok[0])
		out->token = strdup(tok);
	if (take_data(d, u, "client-certificate-data", &out->cert_data,
		      &out->cert_len) != 0 ||
	    take_data(d, u, "client-key-data", &out->key_data,
		      &out->key_len) != 0) {
		snprintf(err, errlen, "client-certificate-data or "
			 "client-key-data is not base64");
		return -1;
	}
	if (map_get(d, u, "exec") || map_get(d, u, "auth-provider"))
		snprintf(err, errlen, "the user's exec/auth-provider "
			 "credential plugins are not supported");
	return 0;
}

/* want: the context to use (kubectl's --context); NULL: current-context */
static int from_document(yaml_document_t *d, const char *dir,
			 const char *want, struct ebt_k8s_conn_cfg *out,
			 char *err, size_t errlen)
{
	yaml_node_t *root = yaml_document_get_root_node(d);
	const char *cur = want && want[0] ? want :
			  map_str(d, root, "current-context");
	yaml_node_t *ctx = named(d, root, "contexts", "context", cur);
	yaml_node_t *cl, *user;

	if (!root || root->type != YAML_MAPPING_NODE) {
		snprintf(err, errlen, "not a kubeconfig (no mapping)");
		return -1;
	}
	if (!ctx) {
		snprintf(err, errlen, "%s %s%s%s not found in contexts",
			 want && want[0] ? "context" : "current-context",
			 cur ? "\"" : "(unset)", cur ? cur : "",
			 cur ? "\"" : "");
		return -1;
	}
	cl = named(d, root, "clusters", "cluster",
		   map_str(d, ctx, "cluster"));
	user = named(d, root, "users", "user", map_str(d, ctx, "user"));
	if (!cl) {
		snprintf(err, errlen, "cluster of context \"%s\" not found",
			 cur);
		return -1;
	}
	if (take_cluster(d, cl, dir, out, err, errlen) != 0)
		return -1;
	err[0] = '\0';
	return take_user(d, user, dir, out, err, errlen);
}

int ebt_kubeconfig_parse(const char *text, size_t len, const char *dir,
			 struct ebt_k8s_conn_cfg *out, char *err,
			 size_t errlen)
{
	return ebt_kubeconfig_parse_context(text, len, dir, NULL, out, err,
					    errlen);
}

int ebt_kubeconfig_parse_context(const char *text, size_t len,
				 const char *dir, const char *context,
				 struct ebt_k8s_conn_cfg *out, char *err,
				 size_t errlen)
{
	yaml_parser_t p;
	yaml_document_t d;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!yaml_parser_initialize(&p)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	if (!yaml_parser_load(&p, &d)) {
		snprintf(err, errlen, "YAML error at line %zu: %s",
			 p.problem_mark.line + 1,
			 p.problem ? p.problem : "?");
		yaml_parser_delete(&p);
		return -1;
	}
	rc = from_document(&d, dir, context, out, err, errlen);
	yaml_document_delete(&d);
	yaml_parser_delete(&p);
	if (rc == 0 && !out->server)
		rc = -1, snprintf(err, errlen, "out of memory");
	if (rc != 0)
		ebt_k8s_conn_cfg_free(out);
	return rc;
}

/* ---- in-cluster ------------------------------------------------------------------ */

int ebt_k8s_incluster(const char *dir, struct ebt_k8s_conn_cfg *out,
		      char *err, size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	char buf[512];

	memset(out, 0, sizeof(*out));
	if (!dir)
		dir = SA_DIR;
	if (!host || !host[0]) {
		snprintf(err, errlen, "not in a cluster: "
			 "KUBERNETES_SERVICE_HOST is not set");
		return -1;
	}
	/* an IPv6 service address needs brackets in the URL */
	snprintf(buf, sizeof(buf), strchr(host, ':') ? "https://[%s]:%s" :
		 "https://%s:%s", host, port && port[0] ? port : "443");
	out->server = strdup(buf);
	snprintf(buf, sizeof(buf), "%s/token", dir);
	out->token_file = strdup(buf);
	snprintf(buf, sizeof(buf), "%s/ca.crt", dir);
	out->ca_file = strdup(buf);
	if (!out->server || !out->token_file || !out->ca_file) {
		ebt_k8s_conn_cfg_free(out);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (access(out->token_file, R_OK) != 0) {
		snprintf(err, errlen, "in a cluster, but the service account "
			 "token %s is not readable (automountServiceAccount"
			 "Token off?)", out->token_file);
		ebt_k8s_conn_cfg_free(out);
		return -1;
	}
	return 0;
}

int ebt_kubeconfig_load(const char *path, struct ebt_k8s_conn_cfg *out,
			char *err, size_t errlen)
{
	return ebt_kubeconfig_load_context(path, NULL, out, err, errlen);
}

int ebt_kubeconfig_load_context(const char *path, const char *context,
				struct ebt_k8s_conn_cfg *out, char *err,
				size_t errlen)
{
	char *dir = strdup(path), *slash, *text = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "re");
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!f) {
		snprintf(err, errlen, "kubeconfig %s: %s", path,
			 strerror(errno));
		free(dir);
		return -1;
	}
	if (dir && (slash = strrchr(dir, '/')))
		*slash = '\0';
	else if (dir)
		dir[0] = '\0';
	text = malloc(KUBECONFIG_MAX + 1);
	if (text && dir) {
		len = fread(text, 1, KUBECONFIG_MAX, f);
		rc = ebt_kubeconfig_parse_context(text, len, dir, context,
						  out, err, errlen);
	} else {
		snprintf(err, errlen, "out of memory");
	}
	fclose(f);
	free(text);
	free(dir);
	return rc;
}
