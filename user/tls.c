/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TLS stage: find the TLS libraries (OpenSSL's libssl.so*, GnuTLS's
 * libgnutls.so*) the processes have mapped, and the executables that
 * carry OpenSSL inside (Node.js), so that the loader puts its uprobes on
 * each file once. A uprobe is set on a file (its inode), not on a
 * process: every process mapping
 * that file, started before or after, runs the programs, and BPF's own
 * filters decide which are traced. A process in a container maps its
 * image's copy, reached here through /proc/PID/root. Libraries loaded
 * later (Python imports ssl on first use) are found by the next scan.
 * Nothing of the processes is touched: /proc is only read.
 */
#include "tls.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAPS_LINE_MAX 4096
#define PATH_MAX_LEN 4096

const char *ebt_tls_maps_lib(const char *line, size_t *len)
{
	const char *path = strchr(line, '/'), *base, *end;

	if (!path)
		return NULL;
	end = path + strcspn(path, "\n");
	if (end - path > 10 && strncmp(end - 10, " (deleted)", 10) == 0)
		return NULL;
	base = path;
	for (const char *p = path; p < end; p++)
		if (*p == '/')
			base = p + 1;
	if (strncmp(base, "libssl.so", 9) != 0 &&
	    strncmp(base, "libgnutls.so", 12) != 0)
		return NULL;
	*len = (size_t)(end - path);
	return path;
}

static bool seen(const struct ebt_tls_libs *l, const struct stat *st)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->files[i].dev == st->st_dev &&
		    l->files[i].ino == st->st_ino)
			return true;
	return false;
}

static int remember(struct ebt_tls_libs *l, const struct stat *st)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct ebt_tls_file *f = realloc(l->files, cap * sizeof(*f));

		if (!f)
			return -1;
		l->files = f;
		l->cap = cap;
	}
	l->files[l->n].dev = st->st_dev;
	l->files[l->n].ino = st->st_ino;
	l->n++;
	return 0;
}

/* One mapped library path of process pid: attach it if it is new. */
static unsigned take_lib(struct ebt_tls_libs *l, const char *proc,
			 const char *pid, const char *lib, size_t len,
			 ebt_tls_lib_fn fn, void *ctx)
{
	char path[PATH_MAX_LEN];
	struct stat st;
	int n = snprintf(path, sizeof(path), "%s/%s/root%.*s", proc, pid,
			 (int)len, lib);
	size_t root = strlen(proc) + strlen(pid) + 6; /* "/PID/root" */

	if (n < 0 || (size_t)n >= sizeof(path) || stat(path, &st) != 0 ||
	    !S_ISREG(st.st_mode) || seen(l, &st))
		return 0;
	/* remembered even when fn fails: a file it cannot attach to is not
	 * tried again every scan */
	if (remember(l, &st) != 0)
		return 0;
	return fn(ctx, path, path + root) == 0 ? 1 : 0;
}

/* Does the ELF file define (not import) symbol name in its .dynsym? */
bool ebt_tls_elf_defines(const char *path, const char *name)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf_Scn *scn = NULL;
	bool found = false;
	Elf *e;

	if (fd < 0)
		return false;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	while (e && !found && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM ||
		    !sh.sh_entsize || !(d = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; !found && i < sh.sh_size / sh.sh_entsize;
		     i++) {
			GElf_Sym sym;
			const char *n;

			if (!gelf_getsym(d, (int)i, &sym) ||
			    sym.st_shndx == SHN_UNDEF)
				continue;
			n = elf_strptr(e, sh.sh_link, sym.st_name);
			found = n && strcmp(n, name) == 0;
		}
	}
	elf_end(e);
	close(fd);
	return found;
}

/*
 * A program that links OpenSSL statically and exports it (Node.js) maps
 * no libssl: its executable gets the uprobes if it defines SSL_write.
 * Each executable file is looked at once.
 */
static unsigned take_exe(struct ebt_tls_libs *l, const char *proc,
			 const char *pid, ebt_tls_lib_fn fn, void *ctx)
{
	char path[PATH_MAX_LEN], shown[PATH_MAX_LEN];
	struct stat st;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s/exe", proc, pid);
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || seen(l, &st) ||
	    remember(l, &st) != 0 || !ebt_tls_elf_defines(path, "SSL_write"))
		return 0;
	n = readlink(path, shown, sizeof(shown) - 1);
	shown[n > 0 ? n : 0] = '\0';
	return fn(ctx, path, n > 0 ? shown : path) == 0 ? 1 : 0;
}

static unsigned scan_proc(struct ebt_tls_libs *l, const char *proc,
			  const char *pid, ebt_tls_lib_fn fn, void *ctx)
{
	char path[PATH_MAX_LEN], line[MAPS_LINE_MAX], last[MAPS_LINE_MAX] = "";
	unsigned took = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/maps", proc, pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		size_t len;
		const char *lib = ebt_tls_maps_lib(line, &len);

		if (!lib || len >= sizeof(last) ||
		    (strncmp(last, lib, len) == 0 && last[len] == '\0'))
			continue;
		memcpy(last, lib, len);
		last[len] = '\0';
		took += take_lib(l, proc, pid, lib, len, fn, ctx);
	}
	fclose(f);
	return took + take_exe(l, proc, pid, fn, ctx);
}

unsigned ebt_tls_scan(struct ebt_tls_libs *l, const char *proc,
		      ebt_tls_lib_fn fn, void *ctx)
{
	DIR *d = opendir(proc);
	struct dirent *e;
	unsigned took = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (isdigit((unsigned char)e->d_name[0]))
			took += scan_proc(l, proc, e->d_name, fn, ctx);
	closedir(d);
	return took;
}

void ebt_tls_libs_free(struct ebt_tls_libs *l)
{
	free(l->files);
	l->files = NULL;
	l->n = l->cap = 0;
}
