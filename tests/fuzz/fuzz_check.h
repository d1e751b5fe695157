/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every libFuzzer target here checks its invariants with: a broken
 * one aborts, so libFuzzer saves the input that broke it as a crash.
 */
#ifndef EBT_FUZZ_CHECK_H
#define EBT_FUZZ_CHECK_H

#include <stdlib.h>

#define CHECK(c)                       \
	do {                           \
		if (!(c))              \
			abort();       \
	} while (0)

#endif
