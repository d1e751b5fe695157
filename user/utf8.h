/* SPDX-License-Identifier: Apache-2.0 */
/*
 * UTF-8 validation, shared by the log assembler (lines are exported as
 * text) and the HTTP parser (request targets and header values are).
 */
#ifndef EBT_UTF8_H
#define EBT_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The UTF-8 sequence at p[0..n), n >= 1 (RFC 3629: no overlongs,
 * surrogates or code points over U+10FFFF): its length 1-4; 0 when p[0]
 * starts no valid sequence (NUL included); -1 when the n bytes are a valid
 * but incomplete prefix of one.
 */
int ebt_utf8_seq(const uint8_t *p, size_t n);

/*
 * Is s[0..n) text as exported: valid UTF-8 with no control character (C0
 * or DEL)? What the parsers promise of every string they report.
 */
bool ebt_utf8_text_ok(const char *s, size_t n);

/*
 * Make s valid UTF-8 in place: each byte that starts no valid sequence
 * becomes '?'. For strings the tracer did not make (command lines, the
 * environment, file names): OTLP receivers refuse a whole batch over one
 * invalid string. Returns s.
 */
char *ebt_utf8_fix(char *s);

#endif
