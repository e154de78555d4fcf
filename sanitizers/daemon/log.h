/* SPDX-License-Identifier: MIT */
/* The daemon's only voice: one line per event on stderr, prefixed with its sd-daemon
 * priority ("<3>" ... "<7>") so journald files it at the right level, no timestamp. */
#ifndef SBD_LOG_H
#define SBD_LOG_H

#include <syslog.h>

/* Lines above this priority (LOG_ERR ... LOG_DEBUG) are dropped. */
void log_set_level(int level);

/* Parses "err", "warning", "notice", "info", "debug" (or 3..7). Returns the level or -1. */
int log_level_parse(const char *name);
const char *log_level_name(int level);

void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
