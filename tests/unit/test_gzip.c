/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for user/gzip.c: the folded CRC-32 against zlib's crc32() for
 * every length and alignment around the fold's steps, in pieces, and over
 * a buffer larger than one zlib call; the header and trailer read back by
 * zlib's inflate. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "gzip.h"

#define BIG (3u << 20)

static uint8_t *random_bytes(size_t n, unsigned seed)
{
	uint8_t *p = malloc(n);

	assert_non_null(p);
	srand(seed);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rand();
	return p;
}

static void test_crc_matches_zlib_every_length_and_alignment(void **state)
{
	uint8_t *buf = random_bytes(600, 1);

	(void)state;
	for (size_t off = 0; off < 16; off++)
		for (size_t n = 0; n + off <= 600; n++)
			assert_int_equal(ebt_crc32(0, buf + off, n),
					 (uint32_t)crc32(0, buf + off, (uInt)n));
	free(buf);
}

static void test_crc_known_value(void **state)
{
	const char *s = "123456789";

	(void)state;
	/* the CRC-32 check value of the catalogue of CRC algorithms */
	assert_int_equal(ebt_crc32(0, (const uint8_t *)s, 9), 0xcbf43926u);
	assert_int_equal(ebt_crc32(0, NULL, 0), 0);
}

static void test_crc_in_pieces_equals_whole(void **state)
{
	uint8_t *buf = random_bytes(BIG, 2);
	uint32_t whole = ebt_crc32(0, buf, BIG), parts = 0;
	size_t cuts[] = {0, 1, 63, 64, 65, 200, 4096, 70000, BIG};

	(void)state;
	assert_int_equal(whole, (uint32_t)crc32(0, buf, BIG));
	for (size_t i = 0; i + 1 < sizeof(cuts) / sizeof(cuts[0]); i++)
		parts = ebt_crc32(parts, buf + cuts[i], cuts[i + 1] - cuts[i]);
	assert_int_equal(parts, whole);
	free(buf);
}

static void test_crc_of_uniform_bytes(void **state)
{
	uint8_t buf[256];

	(void)state;
	for (int v = 0; v < 256; v += 255) {
		memset(buf, v, sizeof(buf));
		for (size_t n = 60; n <= sizeof(buf); n++)
			assert_int_equal(ebt_crc32(7, buf, n),
					 (uint32_t)crc32(7, buf, (uInt)n));
	}
}

/* A member of our framing around raw deflate: its size. */
static size_t make_member(const uint8_t *in, size_t n, uint8_t *gz,
			  size_t cap)
{
	z_stream zs = {0};
	size_t len;

	assert_int_equal(deflateInit2(&zs, 1, Z_DEFLATED, -15, 8,
				      Z_DEFAULT_STRATEGY), Z_OK);
	ebt_gzip_header(gz);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)n;
	zs.next_out = gz + EBT_GZIP_HEADER;
	zs.avail_out = (uInt)(cap - EBT_GZIP_HEADER - EBT_GZIP_TRAILER);
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	ebt_gzip_trailer(zs.next_out, ebt_crc32(0, in, n), n);
	len = EBT_GZIP_HEADER + zs.total_out + EBT_GZIP_TRAILER;
	deflateEnd(&zs);
	return len;
}

/* zlib's gzip inflate of a member: its return code, the bytes in out. */
static int gunzip(const uint8_t *gz, size_t len, uint8_t *out, size_t cap,
		  size_t *out_len)
{
	z_stream zs = {0};
	int rc;

	assert_int_equal(inflateInit2(&zs, 16 + 15), Z_OK);
	zs.next_in = (Bytef *)gz;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	rc = inflate(&zs, Z_FINISH);
	*out_len = zs.total_out;
	if (rc == Z_STREAM_END && zs.avail_in != 0)
		rc = Z_BUF_ERROR; /* bytes after the trailer */
	inflateEnd(&zs);
	return rc;
}

/* The member inflates to the input; a wrong CRC or length is caught. */
static void test_member_inflates(void **state)
{
	uint8_t *in = random_bytes(5000, 3), gz[6000], out[5000];
	size_t len, got;

	(void)state;
	memset(in + 1000, 'a', 3000); /* something to compress */
	len = make_member(in, 5000, gz, sizeof(gz));
	assert_true(len < 2500);
	assert_int_equal(gunzip(gz, len, out, sizeof(out), &got),
			 Z_STREAM_END);
	assert_int_equal(got, 5000);
	assert_memory_equal(out, in, 5000);

	gz[len - 8] ^= 1; /* CRC */
	assert_int_equal(gunzip(gz, len, out, sizeof(out), &got),
			 Z_DATA_ERROR);
	gz[len - 8] ^= 1;
	gz[len - 1] ^= 1; /* ISIZE */
	assert_int_equal(gunzip(gz, len, out, sizeof(out), &got),
			 Z_DATA_ERROR);
	free(in);
}

static void test_empty_member(void **state)
{
	uint8_t gz[64], out[8];
	size_t len, got;

	(void)state;
	len = make_member((const uint8_t *)"", 0, gz, sizeof(gz));
	assert_int_equal(gunzip(gz, len, out, sizeof(out), &got),
			 Z_STREAM_END);
	assert_int_equal(got, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc_matches_zlib_every_length_and_alignment),
		cmocka_unit_test(test_crc_known_value),
		cmocka_unit_test(test_crc_in_pieces_equals_whole),
		cmocka_unit_test(test_crc_of_uniform_bytes),
		cmocka_unit_test(test_member_inflates),
		cmocka_unit_test(test_empty_member),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
