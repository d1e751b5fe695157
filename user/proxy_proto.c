/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PROXY protocol headers (HAProxy's spec, versions 1 and 2): what a load
 * balancer (HAProxy send-proxy, AWS NLB, nginx proxy_protocol) writes on a
 * connection before the first byte it relays, to tell the backend who the
 * client was. The tracer skips it so that the HTTP after it parses, and
 * takes the client's address from it.
 *
 * v1: "PROXY TCP4|TCP6|UNKNOWN <src> <dst> <sport> <dport>\r\n", at most
 * 107 bytes. v2: a 12-byte signature, version/command, family, a 16-bit
 * length, then the addresses (and TLVs) of that length.
 */
#include "http.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define V1_MAX 107
#define V2_FIXED 16

static const uint8_t v2_sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
				   0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

/* The source address of a v1 line "PROXY TCPx src ...": checked by
 * inet_pton for the family it names. */
static void v1_client(const char *line, char *client, size_t n)
{
	char proto[8], src[64];
	uint8_t bin[16];
	int af;

	if (sscanf(line, "PROXY %7s %63s", proto, src) != 2)
		return;
	af = strcmp(proto, "TCP4") == 0 ? AF_INET :
	     strcmp(proto, "TCP6") == 0 ? AF_INET6 : 0;
	if (af && inet_pton(af, src, bin) == 1)
		snprintf(client, n, "%s", src);
}

static size_t proxy_v1(const uint8_t *p, size_t len, char *client, size_t n)
{
	char line[V1_MAX + 1];
	const uint8_t *lf;
	size_t k;

	if (len < 8 || memcmp(p, "PROXY ", 6) != 0)
		return 0;
	lf = memchr(p, '\n', len < V1_MAX ? len : V1_MAX);
	if (!lf || lf == p || lf[-1] != '\r')
		return 0;
	k = (size_t)(lf - p) - 1;
	memcpy(line, p, k);
	line[k] = '\0';
	for (size_t i = 0; i < k; i++)
		if (line[i] < 0x20 || line[i] > 0x7e)
			return 0;
	v1_client(line, client, n);
	return k + 2;
}

static size_t proxy_v2(const uint8_t *p, size_t len, char *client, size_t n)
{
	size_t body, total;
	uint8_t fam;

	if (len < V2_FIXED || memcmp(p, v2_sig, sizeof(v2_sig)) != 0 ||
	    (p[12] & 0xf0) != 0x20 || (p[12] & 0x0f) > 1)
		return 0;
	body = (size_t)p[14] << 8 | p[15];
	total = V2_FIXED + body;
	if (total > len)
		return 0;
	fam = p[13] & 0xf0; /* 1: IPv4, 2: IPv6 (the low nibble: transport) */
	if ((p[12] & 0x0f) == 1 && fam == 0x10 && body >= 12 &&
	    !inet_ntop(AF_INET, p + V2_FIXED, client, (socklen_t)n))
		client[0] = '\0';
	else if ((p[12] & 0x0f) == 1 && fam == 0x20 && body >= 36 &&
		 !inet_ntop(AF_INET6, p + V2_FIXED, client, (socklen_t)n))
		client[0] = '\0';
	return total;
}

size_t http_proxy_header(const uint8_t *p, size_t len, char *client,
			 size_t client_len)
{
	size_t k;

	if (!client_len)
		return 0;
	client[0] = '\0';
	k = proxy_v1(p, len, client, client_len);
	if (!k)
		k = proxy_v2(p, len, client, client_len);
	if (!k)
		client[0] = '\0';
	return k;
}
