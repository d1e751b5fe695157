/* SPDX-License-Identifier: Apache-2.0 */
/* The name of a Spring Boot application run unpacked (see boot_name.h). */
#include "boot_name.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BOOT_FILE_MAX (64 * 1024)

static bool is_launcher(const char *a)
{
	static const char pkg[] = "org.springframework.boot.loader.";
	const char *cls;

	if (strncmp(a, pkg, sizeof(pkg) - 1) != 0)
		return false;
	cls = strrchr(a, '.') + 1;
	return strcmp(cls, "JarLauncher") == 0 ||
	       strcmp(cls, "WarLauncher") == 0 ||
	       strcmp(cls, "PropertiesLauncher") == 0;
}

static bool is_cp_opt(const char *a)
{
	return strcmp(a, "-cp") == 0 || strcmp(a, "-classpath") == 0 ||
	       strcmp(a, "--class-path") == 0;
}

bool ebt_boot_launcher_dir(const char *cmd, size_t len, char *dir,
			   size_t dirsz)
{
	const char *cp = ".";
	size_t i = 0, n;

	for (bool first = true; i < len; i += n + 1, first = false) {
		const char *a = cmd + i;

		n = strnlen(a, len - i);
		if (first || i + n >= len)
			continue;
		if (is_cp_opt(a) && i + n + 1 < len) {
			cp = cmd + i + n + 1;
		} else if (is_launcher(a)) {
			snprintf(dir, dirsz, "%.*s", (int)strcspn(cp, ":"), cp);
			return dir[0] != '\0';
		}
	}
	return false;
}

/* The value of the simple name after the last '.' of s[0..n). */
static void simple_name(const char *s, size_t n, char *out, size_t outsz)
{
	const char *dot = memrchr(s, '.', n);

	if (dot) {
		n -= (size_t)(dot + 1 - s);
		s = dot + 1;
	}
	snprintf(out, outsz, "%.*s", (int)n, s);
}

bool ebt_boot_manifest_class(const char *mf, char *out, size_t outsz)
{
	static const char key[] = "Start-Class:";
	char val[512];
	size_t vn = 0;
	const char *p;

	for (p = mf; *p; p += strcspn(p, "\n"), p += *p == '\n') {
		if (strncmp(p, key, sizeof(key) - 1) == 0)
			break;
	}
	if (!*p)
		return false;
	p += sizeof(key) - 1;
	p += *p == ' ';
	for (;;) {
		size_t n = strcspn(p, "\r\n");

		if (vn + n >= sizeof(val))
			return false;
		memcpy(val + vn, p, n);
		vn += n;
		p += n;
		p += *p == '\r';
		p += *p == '\n';
		if (*p != ' ')
			break;
		p++; /* a continuation line */
	}
	if (vn == 0)
		return false;
	simple_name(val, vn, out, outsz);
	return out[0] != '\0';
}

bool ebt_boot_pom_artifact(const char *props, char *out, size_t outsz)
{
	static const char key[] = "artifactId=";

	for (const char *p = props; *p;) {
		size_t n = strcspn(p, "\r\n");

		if (n > sizeof(key) - 1 && strncmp(p, key, sizeof(key) - 1) == 0) {
			snprintf(out, outsz, "%.*s", (int)(n - sizeof(key) + 1),
				 p + sizeof(key) - 1);
			return true;
		}
		p += n;
		p += strspn(p, "\r\n");
	}
	return false;
}

/* Reads a small file, NUL-terminated; NULL if it cannot. */
static char *read_small(const char *path)
{
	char *buf = malloc(BOOT_FILE_MAX);
	ssize_t n, total = 0;
	int fd;

	if (!buf || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		free(buf);
		return NULL;
	}
	while (total < BOOT_FILE_MAX - 1 &&
	       (n = read(fd, buf + total, BOOT_FILE_MAX - 1 - total)) > 0)
		total += n;
	close(fd);
	buf[total] = '\0';
	return buf;
}

/* The one subdirectory of path (not . or ..), into one; false if not one. */
static bool only_subdir(const char *path, char *one, size_t onesz)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int found = 0;

	if (!d)
		return false;
	while ((de = readdir(d)) && found < 2) {
		if (de->d_name[0] == '.' || de->d_type != DT_DIR)
			continue;
		if (found++ == 0)
			snprintf(one, onesz, "%s", de->d_name);
	}
	closedir(d);
	return found == 1;
}

/* artifactId of root/META-INF/maven/<the group>/<the artifact>/. */
static bool maven_artifact(const char *root, char *out, size_t outsz)
{
	char path[4096], group[256], art[256], *props;
	bool ok;

	snprintf(path, sizeof(path), "%s/META-INF/maven", root);
	if (!only_subdir(path, group, sizeof(group)))
		return false;
	snprintf(path, sizeof(path), "%s/META-INF/maven/%s", root, group);
	if (!only_subdir(path, art, sizeof(art)))
		return false;
	snprintf(path, sizeof(path), "%s/META-INF/maven/%s/%s/pom.properties",
		 root, group, art);
	props = read_small(path);
	ok = props && ebt_boot_pom_artifact(props, out, outsz);
	free(props);
	return ok;
}

bool ebt_boot_app_name(const char *root, char *out, size_t outsz)
{
	char path[4096], *mf;
	bool ok;

	if (maven_artifact(root, out, outsz))
		return true;
	snprintf(path, sizeof(path), "%s/META-INF/MANIFEST.MF", root);
	mf = read_small(path);
	ok = mf && ebt_boot_manifest_class(mf, out, outsz);
	free(mf);
	return ok;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

bool ebt_java_argfile(const char *text, size_t n, char *out, size_t outsz,
		      size_t *at)
{
	size_t i = 0;

	while (i < n) {
		char quote = 0;
		bool any = false;

		while (i < n && is_space(text[i]))
			i++;
		if (i < n && text[i] == '#') { /* a comment, to the line's end */
			while (i < n && text[i] != '\n')
				i++;
			continue;
		}
		for (; i < n && (quote || !is_space(text[i])); i++) {
			if (!quote && (text[i] == '"' || text[i] == '\'')) {
				quote = text[i];
			} else if (quote && text[i] == quote) {
				quote = 0;
			} else {
				if (*at + 1 >= outsz)
					return false;
				out[(*at)++] = text[i];
			}
			any = true;
		}
		if (any) {
			if (*at >= outsz)
				return false;
			out[(*at)++] = '\0';
		}
	}
	return true;
}
