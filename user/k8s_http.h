/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Small pieces of talking to the API server with libcurl, shared by the
 * pod watcher (k8s.c) and remote attach (remote.c): TLS and client
 * credentials from the connection settings, a bounded response body, and
 * the bearer token file.
 */
#ifndef EBT_K8S_HTTP_H
#define EBT_K8S_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "k8s.h"

/* A response body, NUL-terminated, growing up to max bytes. */
struct ebt_k8s_body {
	char *data;
	size_t len, cap, max;
	bool overflow; /* more than max arrived: the transfer was aborted */
};

/* Appends n bytes; -1 past max (overflow set) or out of memory. */
int ebt_k8s_body_add(struct ebt_k8s_body *b, const char *p, size_t n);
/* CURLOPT_WRITEFUNCTION appending to the struct ebt_k8s_body in ud. */
size_t ebt_k8s_body_write(char *p, size_t sz, size_t nm, void *ud);

/* CA, client certificate and key (files or inline data), and
 * insecure-skip-tls-verify, from cc (which must outlive the transfer). */
void ebt_k8s_curl_tls(CURL *c, const struct ebt_k8s_conn_cfg *cc);

/* A token file's content without trailing white space, malloc'd; NULL
 * when it cannot be read. */
char *ebt_k8s_token_read(const char *path);

#endif /* EBT_K8S_HTTP_H */
