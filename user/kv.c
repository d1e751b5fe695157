/* SPDX-License-Identifier: Apache-2.0 */
/* Key/value lists (pod labels and annotations) shared by the CRI and the
 * Kubernetes API pod models. */
#include "cri.h"

#include <stdlib.h>
#include <string.h>

void ebt_kv_free(struct ebt_kv *kv, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
}

const char *ebt_kv_get(const struct ebt_kv *kv, unsigned n, const char *key)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(kv[i].key, key) == 0)
			return kv[i].value;
	return NULL;
}
