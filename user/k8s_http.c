/* SPDX-License-Identifier: Apache-2.0 */
/* libcurl helpers for the API server clients (see k8s_http.h). */
#include "k8s_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_MAX (64u * 1024)
#define BODY_INITIAL 16384

int ebt_k8s_body_add(struct ebt_k8s_body *b, const char *p, size_t n)
{
	size_t cap;
	char *d;

	if (b->len + n > b->max) {
		b->overflow = true;
		return -1;
	}
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : BODY_INITIAL;
		while (cap < b->len + n + 1)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d)
			return -1;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

size_t ebt_k8s_body_write(char *p, size_t sz, size_t nm, void *ud)
{
	return ebt_k8s_body_add(ud, p, sz * nm) == 0 ? sz * nm : 0;
}

static void blob(CURL *c, CURLoption opt, char *data, size_t len)
{
	struct curl_blob b = { .data = data, .len = len,
			       .flags = CURL_BLOB_NOCOPY };

	curl_easy_setopt(c, opt, &b);
}

void ebt_k8s_curl_tls(CURL *c, const struct ebt_k8s_conn_cfg *cc)
{
	if (cc->ca_data)
		blob(c, CURLOPT_CAINFO_BLOB, cc->ca_data, cc->ca_len);
	else if (cc->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, cc->ca_file);
	if (cc->cert_data)
		blob(c, CURLOPT_SSLCERT_BLOB, cc->cert_data, cc->cert_len);
	else if (cc->cert_file)
		curl_easy_setopt(c, CURLOPT_SSLCERT, cc->cert_file);
	if (cc->key_data)
		blob(c, CURLOPT_SSLKEY_BLOB, cc->key_data, cc->key_len);
	else if (cc->key_file)
		curl_easy_setopt(c, CURLOPT_SSLKEY, cc->key_file);
	if (cc->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

char *ebt_k8s_token_read(const char *path)
{
	char buf[TOKEN_MAX];
	size_t n;
	FILE *f = fopen(path, "re");

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' ||
			 buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	return strdup(buf);
}
