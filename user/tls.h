/* SPDX-License-Identifier: Apache-2.0 */
/* TLS stage: the TLS libraries the processes load (OpenSSL's libssl,
 * GnuTLS), for the loader to put its uprobes on (the plaintext of
 * SSL_read/SSL_write, gnutls_record_recv/gnutls_record_send). */
#ifndef EBT_TLS_H
#define EBT_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Attach to one library file at path (through /proc); shown: its name
 * as the process sees it, for messages. 0 when done, else -1. */
typedef int (*ebt_tls_lib_fn)(void *ctx, const char *path,
			      const char *shown);

struct ebt_tls_file {
	dev_t dev;
	ino_t ino;
};

/* Library files met so far (by device and inode: one copy of libssl
 * shared by every process using it is attached once). */
struct ebt_tls_libs {
	struct ebt_tls_file *files;
	size_t n, cap;
};

/* The path of the libssl or libgnutls a /proc/PID/maps line maps, or
 * NULL; *len is
 * the length of the path (the line's text after the fields). */
const char *ebt_tls_maps_lib(const char *line, size_t *len);

/* Walk /proc/PID/maps of every process under proc; for each libssl or
 * libgnutls file not met before, fn(ctx, proc/PID/root/path) (the
 * container's own copy for a process in a container), and for each
 * executable not met before that defines SSL_write, fn(ctx,
 * proc/PID/exe). Returns the files fn took. */
unsigned ebt_tls_scan(struct ebt_tls_libs *l, const char *proc,
		      ebt_tls_lib_fn fn, void *ctx);
void ebt_tls_libs_free(struct ebt_tls_libs *l);

/* Does the ELF file at path define symbol name in its dynamic symbol
 * table (an executable that links OpenSSL statically and exports it)? */
bool ebt_tls_elf_defines(const char *path, const char *name);

#endif /* EBT_TLS_H */
