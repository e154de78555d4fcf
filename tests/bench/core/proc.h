/* SPDX-License-Identifier: MIT */
/* The benchmark's processes and sockets: starting a server program with its output in a log
 * file, waiting until its Unix socket answers, stopping it; what /proc says of its memory
 * and fds; and the blocking Unix-socket I/O the raw clients share. No timing, no placement. */
#ifndef BENCH_PROC_H
#define BENCH_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* A server started by proc_start(): its pid and the socket it listens on. */
typedef struct proc_server {
  pid_t pid;
  char path[108];
} proc_server;

/* Starts argv[0] (searched in PATH) with stdout and stderr appended to log_path, dying with
 * the benchmark, and waits up to 60 s until a connection to socket_path succeeds. Returns 0,
 * or a negative errno (-ENOENT: the program is not installed) with nothing left running. */
int proc_start(proc_server *s, char *const argv[], const char *socket_path,
               const char *log_path);

/* Programs proc_start() runs from now on are run by `prefix... argv...` (e.g. under valgrind);
 * NULL to stop. The array must outlive its use. */
void proc_wrap(char *const *prefix);

/* SIGTERM, and after 10 s SIGKILL; waits for the process. A server that is not running
 * (pid 0) is ignored. */
void proc_stop(proc_server *s);

/* Forks a child that runs fn(arg) and exits, dying with the benchmark. Returns its pid or
 * a negative errno. */
pid_t proc_fork(void (*fn)(void *arg), void *arg);

/* A process's resident memory in kB, and how many fds it has open; -1 when unknown. */
long proc_rss_kb(pid_t pid);
int proc_fd_count(pid_t pid);

/* The first line cmd prints on stdout (stderr is dropped), without its newline, in out.
 * Returns out, or NULL when it printed nothing. */
char *proc_first_line(const char *cmd, char *out, size_t cap);

/* Connects a blocking stream socket to path. Returns the fd or a negative errno. */
int proc_connect(const char *path);

/* Writes all n bytes / reads exactly n bytes. Return 0 or a negative errno (-EPIPE at the
 * end of the stream). */
int proc_write_all(int fd, const void *p, size_t n);
int proc_read_full(int fd, void *p, size_t n);

#endif
