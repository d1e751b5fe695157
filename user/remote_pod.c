/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The remote tracer pod (pure): its JSON, built with cJSON from the attach
 * options, and what the client reads back from Pod objects: the node,
 * the phase and the tracer container's state.
 */
#include "remote.h"

#include <ctype.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "http.h"
#include "sampler.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NAME_PREFIX "ebpftrace-attach-"
#define GRACE_S 5

/* Host paths the DaemonSet mounts (deploy/helm/ebpftrace): name, path on
 * the node and in the container. The CRI socket comes from the spec. */
static const struct {
	const char *name, *path;
} host_dirs[] = {
	{ "btf", "/sys/kernel/btf" },
	{ "tracing", "/sys/kernel/tracing" },
	{ "debug", "/sys/kernel/debug" },
	{ "cgroup", "/sys/fs/cgroup" },
};

#define CRI_MOUNT "/run/containerd/containerd.sock"

static const char *const capabilities[] = { "BPF", "PERFMON", "SYS_ADMIN",
					     "SYS_PTRACE" };

/* Waiting reasons after which the container will not start on its own. */
static const char *const fatal_reasons[] = {
	"ErrImagePull", "ImagePullBackOff", "InvalidImageName",
	"ErrImageNeverPull", "CreateContainerConfigError",
	"CreateContainerError", "RunContainerError", "CrashLoopBackOff",
	"ContainerCannotRun",
};

/* What ebt_remote_secrets takes from the config: the Secret's key, the
 * variable or flag the tracer pod gets it by, the option. */
#define CFG_STR(field) offsetof(struct ebt_config, field)
static const struct {
	const char *key, *env, *flag, *option;
	size_t off;
} secret_fields[] = {
	{ "otlp-headers", "OTEL_EXPORTER_OTLP_HEADERS", NULL, "otlp.headers",
	  CFG_STR(otlp_headers) },
	{ "loki-password", "EBPFTRACE_LOKI_PASSWORD", NULL, "loki.password",
	  CFG_STR(loki_password) },
	{ "loki-bearer-token", "EBPFTRACE_LOKI_BEARER_TOKEN", NULL,
	  "loki.bearer_token", CFG_STR(loki_bearer_token) },
	{ "otlp-ca.crt", NULL, "--otlp-certificate", "otlp.certificate",
	  CFG_STR(otlp_ca_file) },
	{ "otlp-client.crt", NULL, "--otlp-client-certificate",
	  "otlp.client_certificate", CFG_STR(otlp_cert_file) },
	{ "otlp-client.key", NULL, "--otlp-client-key", "otlp.client_key",
	  CFG_STR(otlp_key_file) },
	{ "loki-ca.crt", NULL, "--loki-certificate", "loki.certificate",
	  CFG_STR(loki_ca_file) },
	{ "loki-client.crt", NULL, "--loki-client-certificate",
	  "loki.client_certificate", CFG_STR(loki_cert_file) },
	{ "loki-client.key", NULL, "--loki-client-key", "loki.client_key",
	  CFG_STR(loki_key_file) },
};
_Static_assert(ARRAY_SIZE(secret_fields) == REMOTE_SECRETS_MAX,
	       "REMOTE_SECRETS_MAX");

size_t ebt_remote_secrets(const struct ebt_config *cfg,
			  struct ebt_remote_secret *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(secret_fields) && n < max; i++) {
		const char *v = *(char *const *)((const char *)cfg +
						 secret_fields[i].off);

		if (!v || !v[0])
			continue;
		out[n] = (struct ebt_remote_secret){
			.key = secret_fields[i].key,
			.env = secret_fields[i].env,
			.flag = secret_fields[i].flag,
			.option = secret_fields[i].option, .value = v,
			.data = secret_fields[i].env ? v : NULL,
			.len = secret_fields[i].env ? strlen(v) : 0,
		};
		n++;
	}
	return n;
}

static bool has_files(const struct ebt_remote_spec *s)
{
	for (size_t i = 0; i < s->n_secrets; i++)
		if (s->secrets[i].flag)
			return true;
	return false;
}

int ebt_remote_pod_name(const char *target, const char *session, char *out,
			size_t outsz)
{
	size_t room, n;

	if (outsz < REMOTE_NAME_MAX + 1 || !session[0] ||
	    strlen(session) >= REMOTE_NAME_MAX - strlen(NAME_PREFIX) - 1)
		return -1;
	room = REMOTE_NAME_MAX - strlen(NAME_PREFIX) - 1 - strlen(session);
	n = strlen(target) < room ? strlen(target) : room;
	while (n > 0 && !isalnum((unsigned char)target[n - 1]))
		n--; /* a DNS label does not end in '-' or '.' */
	snprintf(out, outsz, "%s%.*s%s%s", NAME_PREFIX, (int)n, target,
		 n ? "-" : "", session);
	for (char *p = out; *p; p++)
		if (*p == '.')
			*p = '-';
	return 0;
}

uint64_t ebt_remote_deadline_s(const struct ebt_remote_spec *s)
{
	uint64_t ms = s->duration_ms ? s->duration_ms : s->max_duration_ms;

	return (ms + 999) / 1000 + REMOTE_DEADLINE_MARGIN_S;
}

/* ---- building ------------------------------------------------------------ */

static cJSON *str_array(const char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a && i < n; i++)
		if (!cJSON_AddItemToArray(a, cJSON_CreateString(v[i]))) {
			cJSON_Delete(a);
			return NULL;
		}
	return a;
}

static cJSON *metadata(const struct ebt_remote_spec *s)
{
	cJSON *m = cJSON_CreateObject(), *l, *a;
	char target[2 * 254 + 2];

	snprintf(target, sizeof(target), "%s/%s", s->target_ns, s->target);
	cJSON_AddStringToObject(m, "name", s->name);
	cJSON_AddStringToObject(m, "namespace", s->ns);
	l = cJSON_AddObjectToObject(m, "labels");
	cJSON_AddStringToObject(l, "app.kubernetes.io/name", "ebpftrace");
	cJSON_AddStringToObject(l, "app.kubernetes.io/component", "attach");
	cJSON_AddStringToObject(l, REMOTE_LABEL, "true");
	cJSON_AddStringToObject(l, REMOTE_SESSION_LABEL, s->session);
	a = cJSON_AddObjectToObject(m, "annotations");
	cJSON_AddStringToObject(a, REMOTE_TARGET_ANNOTATION, target);
	return m;
}

static void fmt_duration(uint64_t ms, char *out, size_t outsz)
{
	if (ms % 1000 == 0)
		snprintf(out, outsz, "%" PRIu64 "s", ms / 1000);
	else
		snprintf(out, outsz, "%" PRIu64 "ms", ms);
}

/* ebpftrace attach <pod> -n <ns> [--container c] [--duration d] --format f
 * --remote never: the remote side uses this node's CRI socket. */
static cJSON *command(const struct ebt_remote_spec *s)
{
	const char *argv[16 + REMOTE_FORWARD_MAX + 2 * REMOTE_SECRETS_MAX];
	char dur[32], files[REMOTE_SECRETS_MAX][sizeof(REMOTE_SECRET_DIR) + 64];
	size_t n = 0;

	argv[n++] = "ebpftrace";
	argv[n++] = "attach";
	argv[n++] = s->target;
	argv[n++] = "-n";
	argv[n++] = s->target_ns;
	if (s->container && s->container[0]) {
		argv[n++] = "--container";
		argv[n++] = s->container;
	}
	if (s->duration_ms) {
		fmt_duration(s->duration_ms, dur, sizeof(dur));
		argv[n++] = "--duration";
		argv[n++] = dur;
	}
	argv[n++] = "--format";
	argv[n++] = s->format;
	for (size_t i = 0; i < s->n_forward && i < REMOTE_FORWARD_MAX; i++)
		argv[n++] = s->forward[i];
	for (size_t i = 0; i < s->n_secrets && i < REMOTE_SECRETS_MAX; i++) {
		if (!s->secrets[i].flag)
			continue;
		snprintf(files[i], sizeof(files[i]), "%s/%s",
			 REMOTE_SECRET_DIR, s->secrets[i].key);
		argv[n++] = s->secrets[i].flag;
		argv[n++] = files[i];
	}
	argv[n++] = "--remote";
	argv[n++] = "never";
	return str_array(argv, n);
}

static cJSON *security(const struct ebt_remote_spec *s)
{
	static const char *const all[] = { "ALL" };
	cJSON *sc = cJSON_CreateObject(), *caps;

	cJSON_AddBoolToObject(sc, "privileged", s->privileged);
	if (!s->privileged) {
		caps = cJSON_AddObjectToObject(sc, "capabilities");
		cJSON_AddItemToObject(caps, "drop", str_array(all, 1));
		cJSON_AddItemToObject(caps, "add",
				      str_array(capabilities,
						ARRAY_SIZE(capabilities)));
	}
	cJSON_AddNumberToObject(sc, "runAsUser", 0);
	cJSON_AddBoolToObject(sc, "runAsNonRoot", false);
	cJSON_AddBoolToObject(sc, "readOnlyRootFilesystem", true);
	return sc;
}

static void add_mount(cJSON *mounts, const char *name, const char *path)
{
	cJSON *m = cJSON_CreateObject();

	cJSON_AddStringToObject(m, "name", name);
	cJSON_AddStringToObject(m, "mountPath", path);
	cJSON_AddBoolToObject(m, "readOnly", true);
	cJSON_AddItemToArray(mounts, m);
}

static void add_volume(cJSON *vols, const char *name, const char *path,
		       const char *type)
{
	cJSON *v = cJSON_CreateObject(), *hp;

	cJSON_AddStringToObject(v, "name", name);
	hp = cJSON_AddObjectToObject(v, "hostPath");
	cJSON_AddStringToObject(hp, "path", path);
	cJSON_AddStringToObject(hp, "type", type);
	cJSON_AddItemToArray(vols, v);
}

/* NODE_NAME from the pod's node, and the secret values from the Secret
 * (named as the pod). */
static cJSON *environment(const struct ebt_remote_spec *s)
{
	cJSON *env = cJSON_CreateArray(), *e = cJSON_CreateObject(), *f;

	cJSON_AddStringToObject(e, "name", "NODE_NAME");
	f = cJSON_AddObjectToObject(cJSON_AddObjectToObject(e, "valueFrom"),
				    "fieldRef");
	cJSON_AddStringToObject(f, "fieldPath", "spec.nodeName");
	cJSON_AddItemToArray(env, e);
	for (size_t i = 0; i < s->n_secrets; i++) {
		if (!s->secrets[i].env)
			continue;
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "name", s->secrets[i].env);
		f = cJSON_AddObjectToObject(
			cJSON_AddObjectToObject(e, "valueFrom"),
			"secretKeyRef");
		cJSON_AddStringToObject(f, "name", s->name);
		cJSON_AddStringToObject(f, "key", s->secrets[i].key);
		cJSON_AddItemToArray(env, e);
	}
	return env;
}

/* The Secret's files, read-only to root (the tracer runs as root). */
static void add_secret_volume(cJSON *vols, const struct ebt_remote_spec *s)
{
	cJSON *v = cJSON_CreateObject(), *sec, *items, *it;

	cJSON_AddStringToObject(v, "name", REMOTE_SECRET_VOLUME);
	sec = cJSON_AddObjectToObject(v, "secret");
	cJSON_AddStringToObject(sec, "secretName", s->name);
	cJSON_AddNumberToObject(sec, "defaultMode", 0400);
	items = cJSON_AddArrayToObject(sec, "items");
	for (size_t i = 0; i < s->n_secrets; i++) {
		if (!s->secrets[i].flag)
			continue;
		it = cJSON_CreateObject();
		cJSON_AddStringToObject(it, "key", s->secrets[i].key);
		cJSON_AddStringToObject(it, "path", s->secrets[i].key);
		cJSON_AddItemToArray(items, it);
	}
	cJSON_AddItemToArray(vols, v);
}

static cJSON *container(const struct ebt_remote_spec *s)
{
	cJSON *c = cJSON_CreateObject();
	cJSON *mounts;

	cJSON_AddStringToObject(c, "name", REMOTE_CONTAINER);
	cJSON_AddStringToObject(c, "image", s->image);
	cJSON_AddStringToObject(c, "imagePullPolicy", "IfNotPresent");
	cJSON_AddItemToObject(c, "command", command(s));
	cJSON_AddItemToObject(c, "env", environment(s));
	cJSON_AddItemToObject(c, "securityContext", security(s));
	mounts = cJSON_AddArrayToObject(c, "volumeMounts");
	for (size_t i = 0; i < ARRAY_SIZE(host_dirs); i++)
		add_mount(mounts, host_dirs[i].name, host_dirs[i].path);
	add_mount(mounts, "cri-socket", CRI_MOUNT);
	if (has_files(s))
		add_mount(mounts, REMOTE_SECRET_VOLUME, REMOTE_SECRET_DIR);
	return c;
}

static cJSON *pod_spec(const struct ebt_remote_spec *s)
{
	cJSON *sp = cJSON_CreateObject(), *vols, *tol, *t;

	cJSON_AddStringToObject(sp, "nodeName", s->node);
	cJSON_AddBoolToObject(sp, "hostPID", true);
	cJSON_AddStringToObject(sp, "restartPolicy", "Never");
	cJSON_AddNumberToObject(sp, "activeDeadlineSeconds",
				(double)ebt_remote_deadline_s(s));
	cJSON_AddNumberToObject(sp, "terminationGracePeriodSeconds", GRACE_S);
	cJSON_AddBoolToObject(sp, "automountServiceAccountToken", false);
	tol = cJSON_AddArrayToObject(sp, "tolerations");
	t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "operator", "Exists"); /* every taint */
	cJSON_AddItemToArray(tol, t);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(sp, "containers"),
			     container(s));
	vols = cJSON_AddArrayToObject(sp, "volumes");
	for (size_t i = 0; i < ARRAY_SIZE(host_dirs); i++)
		add_volume(vols, host_dirs[i].name, host_dirs[i].path,
			   "Directory");
	add_volume(vols, "cri-socket", s->cri_socket, "Socket");
	if (has_files(s))
		add_secret_volume(vols, s);
	return sp;
}

/* cJSON's add functions fail quietly when out of memory: a pod that lost
 * a part must not be sent. Checks the parts added last at each level. */
static bool complete(const cJSON *pod, const struct ebt_remote_spec *s)
{
	const cJSON *sp = cJSON_GetObjectItemCaseSensitive(pod, "spec");
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
	const cJSON *c = cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(sp, "containers"), 0);
	const cJSON *sc = cJSON_GetObjectItemCaseSensitive(c,
							   "securityContext");
	size_t mounts = ARRAY_SIZE(host_dirs) + 1 + (has_files(s) ? 1 : 0);
	size_t env = 1;

	for (size_t i = 0; i < s->n_secrets; i++)
		env += s->secrets[i].env ? 1 : 0;

	return cJSON_GetObjectItemCaseSensitive(
		       cJSON_GetObjectItemCaseSensitive(meta, "annotations"),
		       REMOTE_TARGET_ANNOTATION) &&
	       cJSON_GetObjectItemCaseSensitive(
		       cJSON_GetObjectItemCaseSensitive(meta, "labels"),
		       REMOTE_SESSION_LABEL) &&
	       cJSON_GetObjectItemCaseSensitive(sc, "readOnlyRootFilesystem") &&
	       cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
		       c, "command")) >= 8 &&
	       (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
		       c, "env")) == env &&
	       (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
		       c, "volumeMounts")) == mounts &&
	       (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
		       sp, "volumes")) == mounts;
}

/* obj printed (free()able) when ok, else NULL; obj is freed. */
static char *print_if(cJSON *obj, bool ok)
{
	char *printed = ok ? cJSON_PrintUnformatted(obj) : NULL, *out;

	cJSON_Delete(obj);
	out = printed ? strdup(printed) : NULL; /* free()able */
	cJSON_free(printed);
	return out;
}

char *ebt_remote_pod_json(const struct ebt_remote_spec *s)
{
	cJSON *pod = cJSON_CreateObject();

	cJSON_AddStringToObject(pod, "apiVersion", "v1");
	cJSON_AddStringToObject(pod, "kind", "Pod");
	cJSON_AddItemToObject(pod, "metadata", metadata(s));
	cJSON_AddItemToObject(pod, "spec", pod_spec(s));
	return print_if(pod, complete(pod, s));
}

static const char b64_digits[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* RFC 4648 base64 of p[0..n), malloc'd and NUL-terminated. */
static char *base64(const char *p, size_t n)
{
	char *o = malloc((n + 2) / 3 * 4 + 1), *w = o;

	for (size_t i = 0; o && i < n; i += 3) {
		uint32_t v = (uint32_t)(uint8_t)p[i] << 16;

		v |= i + 1 < n ? (uint32_t)(uint8_t)p[i + 1] << 8 : 0;
		v |= i + 2 < n ? (uint8_t)p[i + 2] : 0;
		*w++ = b64_digits[v >> 18];
		*w++ = b64_digits[(v >> 12) & 63];
		*w++ = i + 1 < n ? b64_digits[(v >> 6) & 63] : '=';
		*w++ = i + 2 < n ? b64_digits[v & 63] : '=';
	}
	if (o)
		*w = '\0';
	return o;
}

char *ebt_remote_secret_json(const struct ebt_remote_spec *s)
{
	cJSON *sec = cJSON_CreateObject(), *data;
	bool ok = true;

	cJSON_AddStringToObject(sec, "apiVersion", "v1");
	cJSON_AddStringToObject(sec, "kind", "Secret");
	cJSON_AddStringToObject(sec, "type", "Opaque");
	cJSON_AddItemToObject(sec, "metadata", metadata(s));
	data = cJSON_AddObjectToObject(sec, "data");
	for (size_t i = 0; ok && i < s->n_secrets; i++) {
		char *b = base64(s->secrets[i].data, s->secrets[i].len);

		ok = b && cJSON_AddStringToObject(data, s->secrets[i].key, b);
		free(b);
	}
	return print_if(sec, ok && cJSON_GetArraySize(data) ==
					   (int)s->n_secrets);
}

char *ebt_remote_owner_patch(const char *pod, const char *uid)
{
	cJSON *p = cJSON_CreateObject(), *refs, *r = cJSON_CreateObject();

	refs = cJSON_AddArrayToObject(cJSON_AddObjectToObject(p, "metadata"),
				      "ownerReferences");
	cJSON_AddStringToObject(r, "apiVersion", "v1");
	cJSON_AddStringToObject(r, "kind", "Pod");
	cJSON_AddStringToObject(r, "name", pod);
	cJSON_AddStringToObject(r, "uid", uid);
	if (!cJSON_GetObjectItemCaseSensitive(r, "uid") ||
	    !cJSON_AddItemToArray(refs, r)) {
		cJSON_Delete(r);
		r = NULL;
	}
	return print_if(p, r != NULL);
}

/* ---- reading Pod objects --------------------------------------------------- */

int ebt_remote_uid_parse(const char *json, size_t len, char *out,
			 size_t outsz)
{
	cJSON *o = cJSON_ParseWithLength(json, len);
	const cJSON *uid = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(o, "metadata"), "uid");
	int rc = -1;

	if (cJSON_IsString(uid) && uid->valuestring[0] &&
	    strlen(uid->valuestring) < outsz) {
		snprintf(out, outsz, "%s", uid->valuestring);
		rc = 0;
	}
	cJSON_Delete(o);
	return rc;
}

static const char *str_at(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void copy(char *dst, size_t sz, const char *src)
{
	snprintf(dst, sz, "%s", src ? src : "");
}

static enum ebt_remote_phase phase_of(const char *p)
{
	static const char *const names[] = { "Pending", "Running",
					     "Succeeded", "Failed" };

	for (size_t i = 0; p && i < ARRAY_SIZE(names); i++)
		if (strcmp(p, names[i]) == 0)
			return (enum ebt_remote_phase)i;
	return p ? REMOTE_UNKNOWN : REMOTE_PENDING;
}

static bool fatal_reason(const char *r)
{
	for (size_t i = 0; r && i < ARRAY_SIZE(fatal_reasons); i++)
		if (strcmp(r, fatal_reasons[i]) == 0)
			return true;
	return false;
}

/* The status entry of the container (NULL name: the first). */
static const cJSON *container_status(const cJSON *status, const char *name)
{
	const cJSON *cs, *c;

	cs = cJSON_GetObjectItemCaseSensitive(status, "containerStatuses");
	cJSON_ArrayForEach(c, cs) {
		const char *n = str_at(c, "name");

		if (!name || (n && strcmp(n, name) == 0))
			return c;
	}
	return NULL;
}

static bool in_spec(const cJSON *spec, const char *name)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec,
							       "containers")) {
		const char *n = str_at(c, "name");

		if (n && (!name || strcmp(n, name) == 0))
			return true;
	}
	return false;
}

static void read_state(const cJSON *cs, struct ebt_remote_status *st)
{
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(cs, "state");
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(state, "waiting");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(state,
							  "terminated");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(t, "exitCode");

	st->running = cJSON_IsObject(
		cJSON_GetObjectItemCaseSensitive(state, "running"));
	if (cJSON_IsObject(t)) {
		st->terminated = true;
		st->exit_code = cJSON_IsNumber(code) ? code->valueint : -1;
		copy(st->reason, sizeof(st->reason), str_at(t, "reason"));
		copy(st->message, sizeof(st->message), str_at(t, "message"));
	} else if (cJSON_IsObject(w)) {
		copy(st->reason, sizeof(st->reason), str_at(w, "reason"));
		copy(st->message, sizeof(st->message), str_at(w, "message"));
		st->fatal = fatal_reason(str_at(w, "reason"));
	}
}

/* PodScheduled=False (Unschedulable) and the like. */
static void read_conditions(const cJSON *status, struct ebt_remote_status *st)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(status,
							       "conditions")) {
		const char *type = str_at(c, "type"), *s = str_at(c, "status");

		if (type && s && strcmp(type, "PodScheduled") == 0 &&
		    strcmp(s, "False") == 0) {
			copy(st->reason, sizeof(st->reason),
			     str_at(c, "reason") ? str_at(c, "reason") :
			     "Unschedulable");
			copy(st->message, sizeof(st->message),
			     str_at(c, "message"));
			st->fatal = true;
		}
	}
}

static void read_status(const cJSON *status, const char *container,
			struct ebt_remote_status *st)
{
	const cJSON *cs = container_status(status, container);

	st->phase = phase_of(str_at(status, "phase"));
	read_conditions(status, st);
	if (cs)
		read_state(cs, st);
	if (!st->reason[0] && str_at(status, "reason")) {
		/* the pod's own: Evicted, DeadlineExceeded, OutOfcpu, ... */
		copy(st->reason, sizeof(st->reason), str_at(status, "reason"));
		copy(st->message, sizeof(st->message),
		     str_at(status, "message"));
	}
	if (st->phase == REMOTE_FAILED || st->phase == REMOTE_SUCCEEDED)
		st->fatal = st->phase == REMOTE_FAILED && !st->terminated;
}

int ebt_remote_status_parse(const char *json, size_t len,
			    const char *container,
			    struct ebt_remote_status *st, char *err,
			    size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *meta, *spec;
	const char *kind;

	memset(st, 0, sizeof(*st));
	kind = str_at(root, "kind");
	if (!root || !kind || strcmp(kind, "Pod") != 0) {
		snprintf(err, errlen, "not a Pod object");
		cJSON_Delete(root);
		return -1;
	}
	meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
	spec = cJSON_GetObjectItemCaseSensitive(root, "spec");
	st->deleting = str_at(meta, "deletionTimestamp") != NULL;
	copy(st->node, sizeof(st->node), str_at(spec, "nodeName"));
	st->has_container = in_spec(spec, container);
	read_status(cJSON_GetObjectItemCaseSensitive(root, "status"),
		    container, st);
	cJSON_Delete(root);
	return 0;
}

void ebt_remote_status_describe(const struct ebt_remote_status *st,
				char *out, size_t outsz)
{
	static const char *const names[] = { "Pending", "Running",
					     "Succeeded", "Failed",
					     "Unknown" };

	snprintf(out, outsz, "%s%s%s%s%s%s", names[st->phase],
		 st->deleting ? " (being deleted)" : "",
		 st->reason[0] ? ": " : "", st->reason,
		 st->message[0] ? ": " : "", st->message);
}

static const char *query_name(enum http_query_mode m)
{
	return m == HTTP_QUERY_KEEP ? "keep" :
	       m == HTTP_QUERY_DROP ? "drop" : "redact";
}

static const char *sampler_name(int kind)
{
	static const char *const names[] = {
		[EBT_SAMPLER_ALWAYS_ON] = "always_on",
		[EBT_SAMPLER_ALWAYS_OFF] = "always_off",
		[EBT_SAMPLER_RATIO] = "traceidratio",
		[EBT_SAMPLER_PB_ON] = "parentbased_always_on",
		[EBT_SAMPLER_PB_OFF] = "parentbased_always_off",
		[EBT_SAMPLER_PB_RATIO] = "parentbased_traceidratio",
	};

	return kind >= 0 && (size_t)kind < ARRAY_SIZE(names) ? names[kind]
							    : NULL;
}

/* flag and value, when value is set and differs from dflt (NULL: any). */
static size_t add_pair(const char **out, size_t n, size_t max,
		       const char *flag, const char *value, const char *dflt)
{
	if (!value || !value[0] || (dflt && strcmp(value, dflt) == 0) ||
	    n + 2 > max)
		return n;
	out[n++] = flag;
	out[n++] = value;
	return n;
}

size_t ebt_remote_forward(const struct ebt_config *cfg, const char **out,
			  size_t max)
{
	size_t n = 0;

	n = add_pair(out, n, max, "--otlp-endpoint", cfg->otlp_endpoint, NULL);
	n = add_pair(out, n, max, "--otlp-traces-endpoint",
		     cfg->otlp_traces_endpoint, NULL);
	n = add_pair(out, n, max, "--loki-endpoint", cfg->loki_endpoint, NULL);
	n = add_pair(out, n, max, "--loki-tenant", cfg->loki_tenant, NULL);
	n = add_pair(out, n, max, "--loki-username", cfg->loki_username, NULL);
	n = add_pair(out, n, max, "--cluster", cfg->cluster, NULL);
	n = add_pair(out, n, max, "--http-query", query_name(cfg->query_mode),
		     "redact");
	for (unsigned i = 0; i < cfg->n_ignore_paths; i++)
		n = add_pair(out, n, max, "--http-ignore-path",
			     cfg->ignore_paths[i], NULL);
	n = add_pair(out, n, max, "--traces-sampler",
		     sampler_name(cfg->sampler), "parentbased_always_on");
	return add_pair(out, n, max, "--traces-sampler-arg", cfg->sampler_arg,
			"1");
}
