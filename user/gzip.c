/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gzip framing and a fast CRC-32 (see gzip.h).
 *
 * Why not zlib's gzip wrapper: it computes the CRC with a table walk, about
 * a tenth of the exporter's deflate time. The fold below computes the
 * same CRC several times faster: the buffer, 64 bytes at a time, is
 * multiplied (carry-less, in GF(2)) by x^n mod P for the distance it still
 * has to travel and added to the next 64 bytes; what is left is reduced to
 * 32 bits by one Barrett step. The constants are the bit-reflected
 * x^n mod P (shifted left by one), for the n of each step, and
 * floor(x^64 / P); tests/unit/test_gzip.c checks the result against zlib.
 */
#include "gzip.h"

#include <string.h>
#include <zlib.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define CRC_K1 0x154442bd4ull /* x^(4*128+32) mod P: fold by 64 bytes */
#define CRC_K2 0x1c6e41596ull /* x^(4*128-32) mod P */
#define CRC_K3 0x1751997d0ull /* x^(128+32) mod P: fold by 16 bytes */
#define CRC_K4 0x0ccaa009eull /* x^(128-32) mod P */
#define CRC_K5 0x163cd6124ull /* x^64 mod P: 64 bits to 32 */
#define CRC_MU 0x1f7011641ull /* floor(x^64 / P) */
#define CRC_P  0x1db710641ull /* P, reflected */

#define CRC_TARGET __attribute__((target("pclmul,sse4.1")))

/* x (16 bytes) carried 128 bits (k = the pair of constants) onto d. */
CRC_TARGET static inline __m128i fold16(__m128i x, __m128i k, __m128i d)
{
	__m128i lo = _mm_clmulepi64_si128(x, k, 0x00);
	__m128i hi = _mm_clmulepi64_si128(x, k, 0x11);

	return _mm_xor_si128(_mm_xor_si128(lo, hi), d);
}

static inline __m128i load16(const uint8_t *p)
{
	return _mm_loadu_si128((const __m128i *)(const void *)p);
}

/* 128 bits of remainder down to the 32-bit CRC. */
CRC_TARGET static uint32_t reduce128(__m128i x)
{
	const __m128i k34 = _mm_set_epi64x(CRC_K4, CRC_K3);
	const __m128i k5 = _mm_set_epi64x(0, CRC_K5);
	const __m128i mup = _mm_set_epi64x(CRC_MU, CRC_P);
	const __m128i low32 = _mm_set_epi32(0, 0, 0, -1);
	__m128i t;

	x = _mm_xor_si128(_mm_clmulepi64_si128(x, k34, 0x10),
			  _mm_srli_si128(x, 8));
	t = _mm_srli_si128(x, 4);
	x = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x, low32), k5,
					       0x00), t);
	t = x;
	x = _mm_clmulepi64_si128(_mm_and_si128(x, low32), mup, 0x10);
	x = _mm_clmulepi64_si128(_mm_and_si128(x, low32), mup, 0x00);
	return (uint32_t)_mm_extract_epi32(_mm_xor_si128(x, t), 1);
}

/* The CRC register (not inverted) over n bytes: n >= 64, n % 16 == 0. */
CRC_TARGET static uint32_t crc_fold(uint32_t reg, const uint8_t *p, size_t n)
{
	const __m128i k12 = _mm_set_epi64x(CRC_K2, CRC_K1);
	const __m128i k34 = _mm_set_epi64x(CRC_K4, CRC_K3);
	__m128i a = _mm_xor_si128(load16(p), _mm_cvtsi32_si128((int)reg));
	__m128i b = load16(p + 16), c = load16(p + 32), d = load16(p + 48);

	for (p += 64, n -= 64; n >= 64; p += 64, n -= 64) {
		a = fold16(a, k12, load16(p));
		b = fold16(b, k12, load16(p + 16));
		c = fold16(c, k12, load16(p + 32));
		d = fold16(d, k12, load16(p + 48));
	}
	a = fold16(fold16(fold16(a, k34, b), k34, c), k34, d);
	for (; n >= 16; p += 16, n -= 16)
		a = fold16(a, k34, load16(p));
	return reduce128(a);
}

static int crc_fold_usable(void)
{
	return __builtin_cpu_supports("pclmul") &&
	       __builtin_cpu_supports("sse4.1");
}
#endif

/* zlib's crc32() takes a uInt length: feed it in pieces that fit. */
static uint32_t crc_zlib(uint32_t crc, const uint8_t *p, size_t n)
{
	while (n) {
		uInt k = n > (1u << 30) ? 1u << 30 : (uInt)n;

		crc = (uint32_t)crc32(crc, p, k);
		p += k;
		n -= k;
	}
	return crc;
}

uint32_t ebt_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
#if defined(__x86_64__)
	size_t bulk = n & ~(size_t)15;

	if (bulk >= 64 && crc_fold_usable()) {
		crc = ~crc_fold(~crc, p, bulk);
		p += bulk;
		n -= bulk;
	}
#endif
	return crc_zlib(crc, p, n);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void ebt_gzip_header(uint8_t *p)
{
	static const uint8_t h[EBT_GZIP_HEADER] = {
		0x1f, 0x8b, /* magic */
		8,          /* deflate */
		0,          /* no name, comment, extra field or header CRC */
		0, 0, 0, 0, /* no modification time */
		4,          /* compressed with the fastest method */
		3,          /* Unix */
	};

	memcpy(p, h, sizeof(h));
}

void ebt_gzip_trailer(uint8_t *p, uint32_t crc, size_t len)
{
	put_le32(p, crc);
	put_le32(p + 4, (uint32_t)len); /* ISIZE: the length mod 2^32 */
}
