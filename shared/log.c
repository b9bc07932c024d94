/* shared/log.c: timestamped lines, each written with one write(2) so lines
 * from several threads and processes sharing a file never interleave. */
#include "log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char	*log_prog = "wa";
static const char	*log_file;
static enum log_level	 log_min = LOG_INFO;
static const char	*names[] = { "debug", "info", "warn", "error" };

int
log_init(const char *prog, const char *level, const char *file)
{
	log_prog = prog;
	if (level != NULL) {
		if (strcmp(level, "debug") == 0)
			log_min = LOG_DEBUG;
		else if (strcmp(level, "info") == 0)
			log_min = LOG_INFO;
		else if (strcmp(level, "warn") == 0)
			log_min = LOG_WARN;
		else if (strcmp(level, "error") == 0)
			log_min = LOG_ERR;
		else
			return -1;
	}
	log_file = (file != NULL && *file != '\0') ? file : NULL;
	return log_reopen();
}

int
log_reopen(void)
{
	int	fd;

	if (log_file == NULL)
		return 0;
	if ((fd = open(log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0640)) == -1)
		return -1;
	dup2(fd, STDERR_FILENO);
	close(fd);
	return 0;
}

int
log_enabled(enum log_level l)
{
	return l >= log_min;
}

static void
log_vwrite(enum log_level l, const char *fmt, va_list ap)
{
	char		line[2048];
	struct timeval	tv;
	struct tm	tm;
	size_t		n;
	int		k;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	k = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s %s[%d] ",
	    (long)(tv.tv_usec / 1000), names[l], log_prog, (int)getpid());
	n += (size_t)k;
	k = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	n = k < 0 ? n : (n + (size_t)k > sizeof(line) - 2 ?
	    sizeof(line) - 2 : n + (size_t)k);
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}

void
log_msg(enum log_level l, const char *fmt, ...)
{
	va_list	ap;

	if (l < log_min)
		return;
	va_start(ap, fmt);
	log_vwrite(l, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}
