/* wactl/stack_env.c: with nothing set, read the settings of the stack
 * `make start` started, but only from a file that could not have been
 * planted by another user. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wactl.h"

/* Opens path for reading if it is a regular file (not a symlink) owned by
 * root or by us and writable by nobody else; NULL otherwise, with a line on
 * stderr when the file exists but is refused. The checks run on the open
 * descriptor, so the file cannot be swapped between check and read. */
static FILE *
open_trusted(const char *path)
{
	struct stat	 st;
	FILE		*f;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno == ELOOP)
			fail("ignoring %s: a symlink", path);
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return NULL;
	}
	if (st.st_uid != 0 && st.st_uid != getuid()) {
		fail("ignoring %s: owned by uid %u, not by you or root", path,
		    (unsigned)st.st_uid);
		close(fd);
		return NULL;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		fail("ignoring %s: writable by group or others", path);
		close(fd);
		return NULL;
	}
	if ((f = fdopen(fd, "r")) == NULL)
		close(fd);
	return f;
}

/* Exports the WA_* lines of a stack.env for keys not already set: other
 * keys (PGHOST, LD_*, ...) are no business of a settings file. */
static int
load_env_file(const char *path)
{
	FILE	*f;
	char	 line[4096], *eq;

	if ((f = open_trusted(path)) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "WA_", 3) != 0 ||
		    (eq = strchr(line, '=')) == NULL)
			continue;
		*eq = '\0';
		setenv(line, eq + 1, 0);
	}
	fclose(f);
	return 0;
}

/* $WA_STACK_ENV when set, and only it. Otherwise the two places the stack
 * puts a wactl: bin/ of a checkout (its settings in ../var/stack.env) and
 * the run dir's bin/ copy (../stack.env). No walking further up: above the
 * checkout may be /tmp, where anyone can write a stack.env. */
void
stack_env_load(void)
{
	char	bin[PATH_MAX], path[PATH_MAX + 32], *slash;
	ssize_t	n;

	if (getenv("WA_DATABASE_URL") != NULL)
		return;
	if (getenv("WA_STACK_ENV") != NULL) {
		load_env_file(getenv("WA_STACK_ENV"));
		return;
	}
	if ((n = readlink("/proc/self/exe", bin, sizeof(bin) - 1)) <= 0)
		return;
	bin[n] = '\0';
	if ((slash = strrchr(bin, '/')) == NULL)
		return;
	*slash = '\0';
	snprintf(path, sizeof(path), "%s/../var/stack.env", bin);
	if (load_env_file(path) == 0)
		return;
	snprintf(path, sizeof(path), "%s/../stack.env", bin);
	load_env_file(path);
}
