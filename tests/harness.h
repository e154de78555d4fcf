/* SPDX-License-Identifier: MIT */
/* Integration test support: a real shmbufd on a private socket, raw frames to talk to it
 * without libshmbuf, and a fake daemon that says what a test makes it say. Failures abort the
 * current Check test (the fake daemon's child exits instead). */
#ifndef SBT_HARNESS_H
#define SBT_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmbuf.pb-c.h"

typedef struct sbt_daemon {
  pid_t pid;
  char dir[64];   /* private temporary directory */
  char sock[128]; /* its socket */
} sbt_daemon;

/* Starts $SHMBUFD (./shmbufd by default) with --socket in a new temporary directory (or the
 * one d already has, after sbt_terminate()) and the extra arguments (NULL-terminated, may be
 * NULL), and waits until it accepts connections. The daemon is killed if the test process
 * dies. */
void sbt_start(sbt_daemon *d, const char *const *args);

/* Sends SIGTERM and checks the daemon exits with status 0, keeping its directory. */
void sbt_terminate(sbt_daemon *d);

/* sbt_terminate(), then removes the directory. */
void sbt_stop(sbt_daemon *d);

/* A raw connection to the daemon. */
int sbt_connect(const sbt_daemon *d);

/* Writes bytes / one framed request (the id is the caller's) / one batch frame. */
void sbt_write(int fd, const void *p, size_t n);
void sbt_send(int fd, Shmbufwire__Request *q);
void sbt_send_batch(int fd, Shmbufwire__Batch *b);

/* Reads one frame within timeout_ms, a Reply (*r) or a Made (*m); fds that arrive meanwhile
 * are appended to fds (*nfds counts them; fds may be NULL to close them). Returns false (both
 * NULL) on EOF. */
bool sbt_recv_frame(int fd, int *fds, size_t *nfds, int timeout_ms, Shmbufwire__Reply **r,
                    Shmbufwire__Made **m);

/* sbt_recv_frame() of a Reply frame. Returns NULL on EOF. */
Shmbufwire__Reply *sbt_recv(int fd, int *fds, size_t *nfds, int timeout_ms);

/* sbt_recv(), except that no reply starting within timeout_ms gives NULL too (and a reply
 * that started gets its rest within 5 s). */
Shmbufwire__Reply *sbt_recv_within(int fd, int *fds, size_t *nfds, int timeout_ms);

/* Sends hello with id 1 and checks the welcome. */
void sbt_hello(int fd);

/* Sends one request and returns its reply (closing any fds that come with it unless fds). */
Shmbufwire__Reply *sbt_call(int fd, Shmbufwire__Request *q, int *fds, size_t *nfds);

/* True when the peer closes the connection within timeout_ms (replies before it are read
 * and dropped). */
bool sbt_closed_by_peer(int fd, int timeout_ms);

/* A counter from the daemon's stats, asked on a fresh connection. */
uint64_t sbt_stat(const sbt_daemon *d, const char *name);

/* Waits up to timeout_ms for a counter to reach a value; returns the last value seen. */
uint64_t sbt_stat_wait(const sbt_daemon *d, const char *name, uint64_t want, int timeout_ms);

/* Entries in /proc/PID/fd, and mappings of shmbuf slabs (memfds) in /proc/PID/maps. */
int sbt_count_fds(pid_t pid);

/* sbt_count_fds() once it holds still (three equal readings 20 ms apart, within 2 s): a
 * connection the test just closed may still be open in the daemon for a moment. */
int sbt_count_fds_settled(pid_t pid);
int sbt_count_shm_maps(pid_t pid);

/* A field of /proc/PID/status that is given in kB (VmRSS, VmHWM, ...), in KiB. */
uint64_t sbt_proc_kib(pid_t pid, const char *field);

/* The command name of pid (/proc/PID/comm without its newline) in out. */
void sbt_proc_comm(pid_t pid, char *out, size_t cap);

/* Writes [p, p + n) until done or until the peer has taken nothing for quiet_ms (it stopped
 * reading). Returns the bytes written. */
size_t sbt_send_until_stalled(int fd, const void *p, size_t n, int quiet_ms);

/* Runs argv[0] with argv, stdin from `in` (NULL: /dev/null), and captures stdout and stderr
 * (NUL-terminated, cut to cap). Returns the exit status, or 128 + the signal. */
int sbt_run(const char *const *argv, const char *in, char *out, size_t cap, char *err,
            size_t errcap);

/* The directory of Node-generated vectors ($SHMBUF_VECTORS). */
const char *sbt_vectors(void);

/* sbt_run() with in_len bytes of standard input (NULs allowed), written while stdout and
 * stderr are read, so that neither side can block the other however much either writes. */
int sbt_run_input(const char *const *argv, const void *in, size_t in_len, char *out, size_t cap,
                  char *err, size_t errcap);

/* Starts argv[0] (a path: PATH is not searched) with argv, with the environment changed by
 * env ("NAME=value" sets, "NAME" unsets; NULL-terminated, may be NULL), stdin from /dev/null
 * and stdout and stderr appended to the file out_path (NULL: inherited). The child is killed
 * if the test process dies. Returns its pid. */
pid_t sbt_spawn(const char *const *argv, const char *const *env, const char *out_path);

/* Waits up to timeout_ms for pid to end (killing it and failing the test past that). Returns
 * its exit status, or 128 + the signal that ended it. */
int sbt_wait(pid_t pid, int timeout_ms);

/* ---- a fake daemon --------------------------------------------------------------------------
 * For tests of what libshmbuf does with what a daemon says: a Unix socket in a private
 * directory, and a forked child that accepts one connection and runs serve(conn, arg) on it,
 * then reads until the peer closes. The child speaks the real framing and protobuf, and
 * sends real shared-memory fds, but says whatever serve makes it say. */

typedef struct sbt_fake {
  pid_t pid;
  char dir[64];
  char sock[128];
} sbt_fake;

/* Binds the socket (so that a client may connect at once), then forks the child. The child
 * exits 0, or 1 when serve fails a check; it is killed if the test process dies. */
void sbt_fake_start(sbt_fake *f, void (*serve)(int conn, void *arg), void *arg);

/* Waits for the child (the client must have closed its connection), checks that it exited 0,
 * and removes the directory. */
void sbt_fake_stop(sbt_fake *f);

/* Reads one request frame within timeout_ms: a Request (*q) or a Batch (*b), the other NULL.
 * Returns false on EOF. */
bool sbt_recv_request(int fd, int timeout_ms, Shmbufwire__Request **q, Shmbufwire__Batch **b);

/* Sends one reply frame, a Reply or a Made; the fds (nfds of them, may be 0) ride on its
 * first byte. */
void sbt_send_reply(int fd, Shmbufwire__Reply *r, const int *fds, size_t nfds);
void sbt_send_made(int fd, Shmbufwire__Made *m, const int *fds, size_t nfds);

/* A new POSIX shared-memory object of `size` bytes, unlinked at once, open read-write (as the
 * daemon makes them). */
int sbt_shm(size_t size);

#endif
