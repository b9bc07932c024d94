/* shared/log.h: one key=value line per event, to stderr (or WA_LOG_FILE). */
#ifndef WA_LOG_H
#define WA_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERR };

int	 log_init(const char *prog, const char *level, const char *file);
int	 log_reopen(void);		/* after SIGHUP: logrotate moved the file */
int	 log_enabled(enum log_level);
void	 log_msg(enum log_level, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#define log_debug(...)	do { if (log_enabled(LOG_DEBUG)) \
	log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARN, __VA_ARGS__)
#define log_err(...)	log_msg(LOG_ERR, __VA_ARGS__)

#endif /* WA_LOG_H */
