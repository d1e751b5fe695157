/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gzip members (RFC 1952) around zlib's raw deflate, with a CRC-32 of our
 * own that folds 64 bytes a step with carry-less multiplication where the
 * CPU has it (x86-64 PCLMULQDQ), and uses zlib's crc32() elsewhere.
 */
#ifndef EBT_GZIP_H
#define EBT_GZIP_H

#include <stddef.h>
#include <stdint.h>

#define EBT_GZIP_HEADER 10
#define EBT_GZIP_TRAILER 8

/* The CRC-32 of RFC 1952 (zlib's crc32()): crc is the value so far, 0 to
 * start. */
uint32_t ebt_crc32(uint32_t crc, const uint8_t *p, size_t n);

/* Write the fixed member header (no name, no time) at p. */
void ebt_gzip_header(uint8_t *p);

/* Write the trailer of a member whose input had this CRC and length. */
void ebt_gzip_trailer(uint8_t *p, uint32_t crc, size_t len);

#endif
