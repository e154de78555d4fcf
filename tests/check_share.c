/* SPDX-License-Identifier: MIT */
/* Sharing buffers between processes, through libshmbuf and raw frames, against a real
 * shmbufd: importers run in forked children under other users and groups, exporters are
 * killed, tokens expire, are used up, revoked, guessed and forbidden, and the kernel is asked
 * what it enforces. Run as root (the children change their uid and gid). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "shmbuf.h"

#define UID_A 4242
#define GID_A 4343
#define UID_B 4244
#define GID_B 4345
#define MARKER "CANARY<>CANARY"

static sbt_daemon D;

/* A daemon whose socket every user may reach. */
static void start_open(const char *const *more) {
  const char *args[16] = {"--socket-mode", "0666"};
  size_t n = 2;
  for (size_t i = 0; more && more[i] && n < 15; i++)
    args[n++] = more[i];
  args[n] = NULL;
  sbt_start(&D, args);
  ck_assert_int_eq(chmod(D.dir, 0755), 0);
}
static void up(void) { start_open(NULL); }
static void down(void) { sbt_stop(&D); }

static shmbuf_client *client_with(unsigned flags) {
  shmbuf_client *c;
  int rc = shmbuf_connect_ex(D.sock, flags, &c);
  ck_assert_msg(rc == 0, "connect: %s", shmbuf_strerror(rc));
  return c;
}
static shmbuf_client *client(void) { return client_with(0); }

/* One of the daemon's counters as connection c sees it (session_* are c's own). */
static uint64_t counter(shmbuf_client *c, const char *name) {
  shmbuf_stats *st;
  uint64_t value;
  ck_assert_int_eq(shmbuf_stats_get(c, &st), 0);
  int rc = shmbuf_stats_find(st, name, &value);
  shmbuf_stats_free(st);
  ck_assert_msg(rc == 0, "no counter %s", name);
  return value;
}

/* ---- processes ---------------------------------------------------------------------------- */

/* A child process running as uid:gid (no supplementary groups), which runs body(arg) and
 * exits with what it returns. Children report by exit status; they never call ck_assert. */
static pid_t as_user(uid_t uid, gid_t gid, int (*body)(void *), void *arg) {
  fflush(NULL);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
      _exit(100);
    _exit(body(arg));
  }
  return pid;
}

/* The child's exit status, or 1000 + the signal that killed it. */
static int reap(pid_t pid) {
  int st;
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
}

static void send_line(int fd, const char *s) {
  size_t n = strlen(s) + 1;
  ck_assert_int_eq(write(fd, s, n), (ssize_t)n);
}

/* Reads a NUL-terminated line of at most cap bytes; returns false at EOF. */
static bool read_line(int fd, char *out, size_t cap) {
  for (size_t i = 0; i < cap; i++) {
    if (read(fd, out + i, 1) != 1)
      return false;
    if (out[i] == '\0')
      return true;
  }
  return false;
}

/* ---- what an importer does, in its own process --------------------------------------------- */

typedef struct importer_job {
  const char *token;
  const char *want;       /* the bytes expected, or NULL */
  size_t length;          /* the length expected */
  size_t byte_offset, ab_length;
  int sync_in, sync_out;  /* a later write to wait for (-1: none): "go" out, "done" in */
  const char *want_later;
  int expect;             /* the import's expected status */
  bool write;             /* write the first byte directly (a read-only import dies) */
  bool write_through_lib; /* shmbuf_write_uint8() must refuse with -EPERM */
  bool is_sealed;         /* shmbuf_is_sealed() expected */
} importer_job;

/* What importer() checks, on its client c; the exit status. */
static int import_and_check(shmbuf_client *c, importer_job *j) {
  shmbuf_buf *b;
  int rc = shmbuf_import(c, j->token, &b);
  if (rc != j->expect) {
    fprintf(stderr, "import as %u:%u: %d (%s), not %d\n", (unsigned)getuid(), (unsigned)getgid(),
            rc, rc < 0 ? shmbuf_error_message() : "", j->expect);
    return 3;
  }
  if (rc < 0)
    return strcmp(shmbuf_error_code(), "ERR_SHMBUF_TOKEN") == 0 ? 0 : 4;
  if (shmbuf_length(b) != j->length || shmbuf_byte_offset(b) != j->byte_offset ||
      shmbuf_buffer_byte_length(b) != j->ab_length || !shmbuf_is_shared(b))
    return 5;
  if (j->want && memcmp(shmbuf_data(b), j->want, j->length) != 0)
    return 6;
  if (shmbuf_is_sealed(b) != j->is_sealed)
    return 7;
  if (j->sync_out >= 0) {
    char line[16];
    send_line(j->sync_out, "go");
    if (!read_line(j->sync_in, line, sizeof line) ||
        memcmp(shmbuf_data(b), j->want_later, strlen(j->want_later)) != 0)
      return 8;
  }
  if (j->write_through_lib) {
    if (shmbuf_write_uint8(b, 1, 0) != -EPERM ||
        strcmp(shmbuf_error_code(), "ERR_SHMBUF_READ_ONLY") != 0)
      return 9;
    /* the kernel refuses to make the mapping writable */
    long page = sysconf(_SC_PAGESIZE);
    uint8_t *first = (uint8_t *)((uintptr_t)shmbuf_data(b) & ~(uintptr_t)(page - 1));
    if (mprotect(first, (size_t)page, PROT_READ | PROT_WRITE) == 0 || errno != EACCES)
      return 10;
  }
  if (j->write) {
    signal(SIGSEGV, SIG_DFL); /* the kernel's answer, not a sanitizer's report */
    shmbuf_data(b)[0] ^= 0xff; /* a read-only mapping dies here with SIGSEGV */
  }
  shmbuf_release(b);
  return 0;
}

static int importer(void *arg) {
  shmbuf_client *c;
  if (shmbuf_connect(D.sock, &c) < 0)
    return 2;
  int status = import_and_check(c, arg);
  shmbuf_close(c);
  return status;
}

/* Runs an importer as user A and returns its status. */
static int import_as(uid_t uid, gid_t gid, importer_job *j) {
  return reap(as_user(uid, gid, importer, j));
}

static importer_job job_for(const shmbuf_buf *b, const char *token) {
  return (importer_job){.token = token, .want = (const char *)shmbuf_data(b),
                        .length = shmbuf_length(b), .byte_offset = shmbuf_byte_offset(b),
                        .ab_length = shmbuf_buffer_byte_length(b), .sync_in = -1,
                        .sync_out = -1};
}

/* ---- stories --------------------------------------------------------------------------------- */

/* Shares b (whose first bytes are "hello"), has an importer under another user check the
 * bytes and facts, then writes "world" and has the importer see it. */
static void share_and_watch(shmbuf_buf *b) {
  char token[SHMBUF_TOKEN_MAX];
  uint8_t *before = shmbuf_data(b);
  size_t off = shmbuf_byte_offset(b), len = shmbuf_length(b);
  int pooled = shmbuf_is_pooled(b);
  ck_assert_int_eq(shmbuf_share(b, 0, 0, token), 0);
  ck_assert_uint_eq(strlen(token), 26);
  ck_assert_int_eq(strncmp(token, "sb1_", 4), 0);
  ck_assert_uint_eq(strspn(token + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789-_"), 22);
  ck_assert_int_eq(shmbuf_is_shared(b), 1);
  ck_assert_int_eq(shmbuf_is_pooled(b), 0);
  ck_assert_uint_eq(shmbuf_length(b), len);
  ck_assert_mem_eq(shmbuf_data(b), "hello", 5);
  /* a pooled buffer's bytes become an ArrayBuffer of their own; a dedicated one keeps its
   * place in its ArrayBuffer */
  ck_assert_uint_eq(shmbuf_byte_offset(b), pooled ? 0 : off);
  (void)before;
  int to_child[2], from_child[2];
  ck_assert_int_eq(pipe(to_child), 0);
  ck_assert_int_eq(pipe(from_child), 0);
  importer_job j = job_for(b, token);
  j.sync_in = to_child[0];
  j.sync_out = from_child[1];
  j.want_later = "world";
  pid_t pid = as_user(UID_A, GID_A, importer, &j);
  char line[16];
  ck_assert(read_line(from_child[0], line, sizeof line));
  memcpy(shmbuf_data(b), "world", 5);
  send_line(to_child[1], "done");
  ck_assert_int_eq(reap(pid), 0);
  for (int i = 0; i < 2; i++) {
    close(to_child[i]);
    close(from_child[i]);
  }
}

START_TEST(every_kind_of_buffer_is_shared_without_a_copy_per_byte) {
  shmbuf_client *c = client();
  shmbuf_buf *b;
  ck_assert_int_eq(shmbuf_alloc(c, 64, &b), 0);
  memcpy(shmbuf_data(b), "hello", 5);
  share_and_watch(b);
  shmbuf_release(b);

  ck_assert_int_eq(shmbuf_from_string(c, "hello, pooled", SHMBUF_CSTR, NULL, &b), 0);
  ck_assert_int_eq(shmbuf_is_pooled(b), 1);
  share_and_watch(b);
  shmbuf_release(b);

  ck_assert_int_eq(shmbuf_alloc_unsafe(c, 100, &b), 0);
  memcpy(shmbuf_data(b), "hello", 5);
  share_and_watch(b);
  shmbuf_release(b);

  shmbuf_buf *whole, *sub;
  ck_assert_int_eq(shmbuf_alloc(c, 4096, &whole), 0);
  ck_assert_int_eq(shmbuf_subarray(whole, 100, 200, &sub), 0);
  memcpy(shmbuf_data(sub), "hello", 5);
  share_and_watch(sub);
  /* the other view of the same ArrayBuffer moved with it */
  ck_assert_ptr_eq(shmbuf_data(whole) + 100, shmbuf_data(sub));
  ck_assert_int_eq(shmbuf_is_shared(whole), 1);
  shmbuf_release(sub);
  shmbuf_release(whole);

  /* a dedicated ArrayBuffer with a slab to itself is handed over where it is */
  ck_assert_int_eq(shmbuf_alloc(c, 3 << 20, &b), 0);
  uint8_t *at = shmbuf_data(b);
  memcpy(at, "hello", 5);
  share_and_watch(b);
  ck_assert_ptr_eq(shmbuf_data(b), at);
  shmbuf_release(b);
  shmbuf_close(c);
}
END_TEST

START_TEST(a_thin_client_shares_its_pooled_buffers_too) {
  shmbuf_client *c = client_with(SHMBUF_THIN);
  shmbuf_buf *b;
  ck_assert_int_eq(shmbuf_from_string(c, "hello, thin", SHMBUF_CSTR, NULL, &b), 0);
  ck_assert_int_eq(shmbuf_is_pooled(b), 1);
  share_and_watch(b);
  shmbuf_release(b);
  shmbuf_close(c);
}
END_TEST

START_TEST(read_only_imports_are_enforced_by_the_kernel) {
  shmbuf_client *c = client();
  shmbuf_buf *b;
  char token[SHMBUF_TOKEN_MAX];
  ck_assert_int_eq(shmbuf_from_string(c, "do not touch", SHMBUF_CSTR, NULL, &b), 0);
  ck_assert_int_eq(shmbuf_share(b, 0, 0, token), 0);
  importer_job j = job_for(b, token);
  j.write_through_lib = true;
  ck_assert_int_eq(import_as(UID_A, GID_A, &j), 0);
  j.write = true;
  ck_assert_int_eq(import_as(UID_A, GID_A, &j), 1000 + SIGSEGV);
  ck_assert_mem_eq(shmbuf_data(b), "do not touch", 12);
  /* the exporter itself still writes */
  ck_assert_int_eq(shmbuf_write_uint8(b, 'D', 0), 1);
  shmbuf_close(c);
}
END_TEST

/* A writable import: the importer writes "world" over the first bytes. */
static int write_world(void *arg) {
  shmbuf_client *c;
  shmbuf_buf *b;
  if (shmbuf_connect(D.sock, &c) < 0)
    return 2;
  int status = shmbuf_import(c, arg, &b) < 0                                           ? 3
               : shmbuf_is_read_only(b) || shmbuf_write_string(b, "world", 5, 0, 5, NULL) != 5 ? 4
                                                                                        : 0;
  shmbuf_close(c);
  return status;
}

START_TEST(writable_shares_are_written_by_importers) {
  shmbuf_client *c = client();
  shmbuf_buf *b;
  char token[SHMBUF_TOKEN_MAX];
  ck_assert_int_eq(shmbuf_alloc(c, 100, &b), 0);
  ck_assert_int_eq(shmbuf_share(b, SHMBUF_SHARE_WRITABLE, 0, token), 0);
  ck_assert_int_eq(reap(as_user(UID_A, GID_A, write_world, token)), 0);
  ck_assert_mem_eq(shmbuf_data(b), "world", 5);
  shmbuf_close(c);
}
END_TEST

/* Writes directly to buf's first byte, in a child of this process: the status it died of. */
static int write_in_child(shmbuf_buf *b) {
  fflush(NULL);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    signal(SIGSEGV, SIG_DFL); /* the kernel's answer, not a sanitizer's report */
    shmbuf_data(b)[0] = 'X';
    _exit(0);
  }
  return reap(pid);
}

START_TEST(sealed_buffers_refuse_every_writer) {
  shmbuf_client *c = client();
  shmbuf_buf *b, *other;
  ck_assert_int_eq(shmbuf_alloc(c, 5000, &b), 0);
  ck_assert_int_eq(shmbuf_subarray(b, 10, 20, &other), 0);
  memcpy(shmbuf_data(b), "frozen", 6);
  ck_assert_int_eq(shmbuf_seal(b), 0);
  ck_assert_int_eq(shmbuf_is_sealed(b), 1);
  ck_assert_int_eq(shmbuf_is_read_only(b), 1);
  ck_assert_int_eq(shmbuf_is_sealed(other), 1);
  ck_assert_ptr_eq(shmbuf_data(b) + 10, shmbuf_data(other));
  ck_assert_mem_eq(shmbuf_data(b), "frozen", 6);
  ck_assert_uint_eq(shmbuf_buffer_byte_length(b), 5000);
  /* the library, the kernel, and the exporter's own process all refuse */
  ck_assert_int_eq(shmbuf_fill_number(b, 0, SHMBUF_UNDEFINED, SHMBUF_UNDEFINED), -EPERM);
  ck_assert_str_eq(shmbuf_error_code(), "ERR_SHMBUF_READ_ONLY");
  ck_assert_int_eq(shmbuf_swap16(b), -EPERM);
  ck_assert_int_eq(shmbuf_copy(other, b, 0, SHMBUF_UNDEFINED, SHMBUF_UNDEFINED), -EPERM);
  ck_assert_int_eq(write_in_child(b), 1000 + SIGSEGV);
  long page = sysconf(_SC_PAGESIZE);
  uint8_t *first = (uint8_t *)((uintptr_t)shmbuf_data(b) & ~(uintptr_t)(page - 1));
  ck_assert_int_ne(mprotect(first, (size_t)page, PROT_READ | PROT_WRITE), 0);
  /* sealing what is sealed changes nothing; a writable share of it is refused */
  uint8_t *at = shmbuf_data(b);
  ck_assert_int_eq(shmbuf_seal(b), 0);
  ck_assert_ptr_eq(shmbuf_data(b), at);
  char token[SHMBUF_TOKEN_MAX];
  ck_assert_int_eq(shmbuf_share(b, SHMBUF_SHARE_WRITABLE, 0, token), -EINVAL);
  ck_assert_str_eq(shmbuf_error_code(), "ERR_INVALID_ARG_VALUE");
  ck_assert_int_eq(shmbuf_share(b, 0, 0, token), 0);
  importer_job j = job_for(b, token);
  j.is_sealed = true;
  j.write_through_lib = true;
  ck_assert_int_eq(import_as(UID_A, GID_A, &j), 0);
  shmbuf_close(c);
}
END_TEST

START_TEST(a_share_can_seal_first) {
  shmbuf_client *c = client();
  shmbuf_buf *b;
  char token[SHMBUF_TOKEN_MAX];
  ck_assert_int_eq(shmbuf_from_string(c, "sealed on the way", SHMBUF_CSTR, NULL, &b), 0);
  ck_assert_int_eq(shmbuf_share(b, SHMBUF_SHARE_SEALED | SHMBUF_SHARE_WRITABLE, 0, token),
                   -EINVAL);
  ck_assert_int_eq(shmbuf_share(b, SHMBUF_SHARE_SEALED, 0, token), 0);
  ck_assert_int_eq(shmbuf_is_sealed(b), 1);
  importer_job j = job_for(b, token);
  j.is_sealed = true;
  ck_assert_int_eq(import_as(UID_A, GID_A, &j), 0);
  ck_assert_int_eq(write_in_child(b), 1000 + SIGSEGV);
  shmbuf_close(c);
}
END_TEST

/* An exporter in its own process, as user B: makes `size` bytes of a pattern, shares them with
 * the flags in the first byte of its argument line, prints the token, and waits. */
typedef struct exporter_job {
  size_t size;
  unsigned flags;
  uint64_t ttl_ms;
  int out;        /* where the token goes */
  bool stay;      /* wait to be killed, instead of exiting */
} exporter_job;

static uint8_t pattern_at(size_t i) { return (uint8_t)(i * 131 + (i >> 12)); }

static int exporter(void *arg) {
  exporter_job *j = arg;
  shmbuf_client *c;
  shmbuf_buf *b;
  char token[SHMBUF_TOKEN_MAX];
  if (shmbuf_connect(D.sock, &c) < 0 || shmbuf_alloc_unsafe_slow(c, (int64_t)j->size, &b) < 0)
    return 2;
  for (size_t i = 0; i < j->size; i++)
    shmbuf_data(b)[i] = pattern_at(i);
  if (shmbuf_share(b, j->flags, j->ttl_ms, token) < 0)
    return 3;
  send_line(j->out, token);
  if (j->stay)
    for (;;)
      pause();
  shmbuf_close(c);
  return 0;
}

static pid_t start_exporter(exporter_job *j, char token[SHMBUF_TOKEN_MAX]) {
  int p[2];
  ck_assert_int_eq(pipe(p), 0);
  j->out = p[1];
  pid_t pid = as_user(UID_B, GID_B, exporter, j);
  close(p[1]);
  ck_assert(read_line(p[0], token, SHMBUF_TOKEN_MAX));
  close(p[0]);
  return pid;
}

static void assert_pattern(const shmbuf_buf *b, size_t size) {
  ck_assert_uint_eq(shmbuf_length(b), size);
  for (size_t i = 0; i < size; i++)
    if (shmbuf_data(b)[i] != pattern_at(i))
      ck_abort_msg("byte %zu changed", i);
}

START_TEST(an_exporter_killed_leaves_importers_their_bytes) {
  char token[SHMBUF_TOKEN_MAX];
  exporter_job j = {.size = 3 << 20, .stay = true};
  pid_t pid = start_exporter(&j, token);
  shmbuf_client *c = client();
  shmbuf_buf *b;
  ck_assert_int_eq(shmbuf_import(c, token, &b), 0);
  assert_pattern(b, j.size);
  ck_assert_int_eq(kill(pid, SIGKILL), 0);
  ck_assert_int_eq(reap(pid), 1000 + SIGKILL);
  ck_assert_uint_eq(sbt_stat_wait(&D, "connections", 1, 5000), 1);
  assert_pattern(b, j.size);
  /* the token went with its exporter's connection; the importer pays now */
  shmbuf_buf *again;
  ck_assert_int_eq(shmbuf_import(c, token, &again), -ENOENT);
  ck_assert_str_eq(shmbuf_error_code(), "ERR_SHMBUF_TOKEN");
  ck_assert_uint_eq(counter(c, "session_shared_bytes"), j.size);
  ck_assert_uint_eq(counter(c, "shared_bytes"), j.size);
  shmbuf_release(b);
  ck_assert_uint_eq(counter(c, "shared_bytes"), 0);
  shmbuf_close(c);
}
END_TEST

START_TEST(a_persisting_share_outlives_its_exporter_until_its_ttl) {
  char token[SHMBUF_TOKEN_MAX];
  exporter_job j = {.size = 100000, .flags = SHMBUF_SHARE_PERSIST, .ttl_ms = 1500};
  ck_assert_int_eq(reap(start_exporter(&j, token)), 0);
  shmbuf_client *c = client();
  ck_assert_uint_eq(counter(c, "shares"), 1);
  shmbuf_share_list *l;
  ck_assert_int_eq(shmbuf_list_shares(c, &l), 0);
  ck_assert_uint_eq(shmbuf_share_list_count(l), 1);
  ck_assert_int_eq(shmbuf_share_list_pid(l, 0), 0);
  ck_assert_uint_eq(shmbuf_share_list_uid(l, 0), UID_B);
  ck_assert_ptr_null(shmbuf_share_list_token(l, 0)); /* root is not its exporter */
  ck_assert_uint_eq(shmbuf_share_list_flags(l, 0), SHMBUF_SHARE_PERSIST);
  shmbuf_share_list_free(l);
  shmbuf_buf *b;
  ck_assert_int_eq(shmbuf_import(c, token, &b), 0);
  assert_pattern(b, j.size);
  usleep(1700 * 1000);
  shmbuf_buf *late;
  ck_assert_int_eq(shmbuf_import(c, token, &late), -ENOENT);
  assert_pattern(b, j.size);
  shmbuf_release(b);
  ck_assert_uint_eq(counter(c, "shares"), 0);
  ck_assert_uint_eq(counter(c, "shared_bytes"), 0);
  shmbuf_close(c);
}
END_TEST

START_TEST(a_persisting_share_needs_a_ttl) {
  shmbuf_client *c = client();
  shmbuf_buf *b;
  char token[SHMBUF_TOKEN_MAX];
  ck_assert_int_eq(shmbuf_alloc(c, 10, &b), 0);
  ck_assert_int_eq(shmbuf_share(b, SHMBUF_SHARE_PERSIST, 0, token), -EINVAL);
  ck_assert_str_eq(shmbuf_error_code(), "ERR_INVALID_ARG_VALUE");
  ck_assert_int_eq(shmbuf_share(b, 0x100, 0, token), -EINVAL);
  ck_assert_uint_eq(counter(c, "shares"), 0);
  shmbuf_close(c);
}
END_TEST

START_TEST(tokens_expire_get_used_up_and_are_revoked) {
  shmbuf_client *c = client();
  shmbuf_buf *b, *imp, *imp2;
  char ttl[SHMBUF_TOKEN_MAX], once[SHMBUF_TOKEN_MAX], revoked[SHMBUF_TOKEN_MAX];
  ck_assert_int_eq(shmbuf_alloc(c, 10, &b), 0);
  ck_assert_int_eq(shmbuf_share(b, 0, 300, ttl), 0);
  ck_assert_int_eq(shmbuf_share(b, SHMBUF_SHARE_SINGLE_USE, 0, once), 0);
  ck_assert_int_eq(shmbuf_share(b, 0, 0, revoked), 0);
  ck_assert_str_ne(ttl, once);
  ck_assert_uint_eq(counter(c, "shares"), 3);

  importer_job j = job_for(b, ttl);
  ck_assert_int_eq(import_as(UID_A, GID_A, &j), 0);
  j.token = once;
  ck_assert_int_eq(import_as(UID_A, GID_A, &j), 0);
  j.expect = -ENOENT;
  ck_assert_int_eq(import_as(UID_A, GID_A, &j), 0);

  ck_assert_int_eq(shmbuf_import(c, revoked, &imp), 0);
  ck_assert_int_eq(shmbuf_unshare(c, revoked), 0);
  ck_assert_int_eq(shmbuf_import(c, revoked, &imp2), -ENOENT);
  ck_assert_int_eq(shmbuf_unshare(c, revoked), -ENOENT);
  ck_assert_str_eq(shmbuf_error_code(), "ERR_SHMBUF_TOKEN");
  ck_assert_uint_eq(shmbuf_length(imp), 10); /* an import made stays */

  usleep(400 * 1000);
  j.token = ttl;
  ck_assert_int_eq(import_as(UID_A, GID_A, &j), 0);
  ck_assert_uint_eq(counter(c, "shares"), 0);
  shmbuf_close(c);
}
END_TEST

START_TEST(guessed_and_malformed_tokens_get_one_answer) {
  shmbuf_client *c = client();
  shmbuf_buf *b, *imp;
  char token[SHMBUF_TOKEN_MAX];
  ck_assert_int_eq(shmbuf_alloc(c, 10, &b), 0);
  ck_assert_int_eq(shmbuf_share(b, 0, 0, token), 0);
  char guess[SHMBUF_TOKEN_MAX];
  strcpy(guess, token);
  guess[25] = guess[25] == 'A' ? 'B' : 'A';
  const char *const bad[] = {guess, "", "sb1_", "sb1_AAAAAAAAAAAAAAAAAAAAAA", "sb1_\xff\xfe",
                             "not a token", "sb1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ck_assert_int_eq(shmbuf_import(c, bad[i], &imp), -ENOENT);
    ck_assert_str_eq(shmbuf_error_code(), "ERR_SHMBUF_TOKEN");
    ck_assert_str_eq(shmbuf_error_message(), "The token names no share this connection may import");
  }
  ck_assert_int_eq(shmbuf_import(c, NULL, &imp), -EINVAL);
  /* the daemon serves on, and the real token still imports */
  ck_assert_int_eq(shmbuf_import(c, token, &imp), 0);
  shmbuf_close(c);
}
END_TEST

START_TEST(tokens_for_some_users_refuse_the_others) {
  shmbuf_client *c = client();
  shmbuf_buf *b;
  char for_a[SHMBUF_TOKEN_MAX], for_group_b[SHMBUF_TOKEN_MAX];
  ck_assert_int_eq(shmbuf_alloc(c, 10, &b), 0);
  const uid_t uids[] = {UID_A};
  const gid_t gids[] = {GID_B};
  ck_assert_int_eq(shmbuf_share_ex(b, 0, 0, uids, 1, NULL, 0, for_a), 0);
  ck_assert_int_eq(shmbuf_share_ex(b, 0, 0, NULL, 0, gids, 1, for_group_b), 0);
  importer_job j = job_for(b, for_a);
  ck_assert_int_eq(import_as(UID_A, GID_A, &j), 0);
  ck_assert_int_eq(import_as(UID_B, GID_A, &(importer_job){.token = for_a, .expect = -ENOENT}), 0);
  j.token = for_group_b;
  ck_assert_int_eq(import_as(UID_A, GID_B, &j), 0);
  ck_assert_int_eq(import_as(UID_A, GID_A, &(importer_job){.token = for_group_b, .expect = -ENOENT}),
                   0);
  /* the exporter's own user always may */
  shmbuf_buf *own;
  ck_assert_int_eq(shmbuf_import(c, for_a, &own), 0);
  shmbuf_close(c);
}
END_TEST

/* A read-only importer shares what it imported: only read-only, whatever it asks. */
static int reshare_writable(void *arg) {
  shmbuf_client *c;
  shmbuf_buf *b;
  char token[SHMBUF_TOKEN_MAX];
  if (shmbuf_connect(D.sock, &c) < 0)
    return 2;
  int status = shmbuf_import(c, arg, &b) < 0 ? 3
               : shmbuf_share(b, SHMBUF_SHARE_WRITABLE, 0, token) != -EINVAL ||
                       strcmp(shmbuf_error_code(), "ERR_INVALID_ARG_VALUE") != 0
                   ? 4
               : shmbuf_share(b, 0, 0, token) < 0 ? 5
                                                   : 0;
  if (status == 0) { /* its read-only re-share imports read-only */
    importer_job j = {.token = token, .want = (const char *)shmbuf_data(b),
                      .length = shmbuf_length(b), .byte_offset = shmbuf_byte_offset(b),
                      .ab_length = shmbuf_buffer_byte_length(b), .sync_in = -1, .sync_out = -1,
                      .write_through_lib = true};
    shmbuf_client *other;
    if (shmbuf_connect(D.sock, &other) < 0)
      status = 6;
    else {
      status = import_and_check(other, &j);
      shmbuf_close(other);
    }
  }
  shmbuf_close(c);
  return status;
}

START_TEST(read_only_importers_cannot_hand_on_write_access) {
  shmbuf_client *c = client();
  shmbuf_buf *b;
  char token[SHMBUF_TOKEN_MAX];
  ck_assert_int_eq(shmbuf_alloc(c, 5000, &b), 0);
  memcpy(shmbuf_data(b), "mine", 4);
  ck_assert_int_eq(shmbuf_share(b, 0, 0, token), 0);
  ck_assert_int_eq(reap(as_user(UID_A, GID_A, reshare_writable, token)), 0);
  ck_assert_mem_eq(shmbuf_data(b), "mine", 4);
  shmbuf_close(c);
}
END_TEST

/* ---- accounting ------------------------------------------------------------------------------ */

START_TEST(an_exporter_importing_its_own_share_is_counted_once) {
  shmbuf_client *c = client();
  shmbuf_buf *b, *imp;
  char token[SHMBUF_TOKEN_MAX];
  ck_assert_int_eq(shmbuf_alloc(c, 5000, &b), 0);
  ck_assert_int_eq(shmbuf_share(b, 0, 0, token), 0);
  uint64_t size = counter(c, "session_shared_bytes");
  ck_assert_uint_gt(size, 0);
  ck_assert_int_eq(shmbuf_import(c, token, &imp), 0);
  ck_assert_uint_eq(counter(c, "imports"), 0); /* it maps what it pays for */
  shmbuf_release(imp);
  ck_assert_uint_eq(counter(c, "imports"), 0);
  ck_assert_uint_eq(counter(c, "session_shared_bytes"), size);
  ck_assert_uint_eq(counter(c, "session_imported_bytes"), 0);
  /* an importer that came and went leaves nothing behind either */
  shmbuf_client *q = client();
  ck_assert_int_eq(shmbuf_import(q, token, &imp), 0);
  ck_assert_uint_eq(counter(q, "imports"), 1);
  shmbuf_close(q);
  ck_assert_uint_eq(sbt_stat_wait(&D, "imports", 0, 5000), 0);
  shmbuf_release(b);
  ck_assert_uint_eq(counter(c, "shared_bytes"), size); /* the token can still import it */
  ck_assert_int_eq(shmbuf_unshare(c, token), 0);
  ck_assert_uint_eq(counter(c, "shared_bytes"), 0);
  ck_assert_uint_eq(counter(c, "session_shared_bytes"), 0);
  shmbuf_close(c);
}
END_TEST

START_TEST(one_party_pays_for_each_shared_object) {
  shmbuf_client *p = client(), *q = client();
  shmbuf_buf *b, *imp;
  char token[SHMBUF_TOKEN_MAX];
  ck_assert_int_eq(shmbuf_alloc(p, 3 << 20, &b), 0);
  uint64_t size = counter(p, "session_reserved_bytes");
  ck_assert_int_eq(shmbuf_share(b, 0, 0, token), 0);
  ck_assert_uint_eq(counter(p, "shared_bytes"), size);
  ck_assert_uint_eq(counter(p, "session_shared_bytes"), size);
  ck_assert_int_eq(shmbuf_import(q, token, &imp), 0);
  ck_assert_uint_eq(counter(q, "imports"), 1);
  ck_assert_uint_eq(counter(q, "session_shared_bytes"), 0);
  ck_assert_uint_eq(counter(q, "session_imported_bytes"), size);
  ck_assert_uint_eq(counter(q, "shared_bytes"), size); /* once, not twice */
  /* the exporter's connection ends: the oldest importer pays */
  shmbuf_close(p);
  ck_assert_uint_eq(sbt_stat_wait(&D, "connections", 1, 5000), 1);
  ck_assert_uint_eq(counter(q, "session_shared_bytes"), size);
  ck_assert_uint_eq(counter(q, "session_imported_bytes"), 0);
  ck_assert_uint_eq(counter(q, "shared_bytes"), size);
  shmbuf_close(q);
  ck_assert_uint_eq(sbt_stat_wait(&D, "shared_bytes", 0, 5000), 0);
}
END_TEST

START_TEST(imports_count_against_the_importers_limits) {
  sbt_stop(&D);
  start_open((const char *const[]){"--connection-max-bytes", "8M", NULL});
  shmbuf_client *p = client(), *q = client();
  char tokens[3][SHMBUF_TOKEN_MAX];
  shmbuf_buf *b[3], *imp[3];
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(shmbuf_alloc(p, 3 << 20, &b[i]), 0);
    ck_assert_int_eq(shmbuf_share(b[i], 0, 0, tokens[i]), 0);
  }
  shmbuf_client *p2 = client();
  ck_assert_int_eq(shmbuf_alloc(p2, 3 << 20, &b[2]), 0);
  ck_assert_int_eq(shmbuf_share(b[2], 0, 0, tokens[2]), 0);
  ck_assert_int_eq(shmbuf_import(q, tokens[0], &imp[0]), 0);
  ck_assert_int_eq(shmbuf_import(q, tokens[1], &imp[1]), 0);
  int rc = shmbuf_import(q, tokens[2], &imp[2]);
  ck_assert_msg(rc == -ENOMEM || rc == -EDQUOT, "a third import got %d", rc);
  /* with its exporters gone, what the importer pins stays within its own limit */
  shmbuf_close(p);
  shmbuf_close(p2);
  ck_assert_uint_eq(sbt_stat_wait(&D, "connections", 1, 5000), 1);
  ck_assert_uint_le(counter(q, "session_shared_bytes"), 8u << 20);
  ck_assert_uint_eq(counter(q, "shared_bytes"), counter(q, "session_shared_bytes"));
  shmbuf_close(q);
}
END_TEST

START_TEST(stats_come_back_to_their_baseline) {
  static const char *const names[] = {"buffers", "slabs", "reserved_bytes", "shares", "imports",
                                      "shared_bytes", "metadata_bytes", "bytes"};
  uint64_t before[8];
  for (int i = 0; i < 8; i++)
    before[i] = sbt_stat(&D, names[i]);
  char token[SHMBUF_TOKEN_MAX], sealed[SHMBUF_TOKEN_MAX];
  exporter_job j = {.size = 5 << 20, .stay = true};
  pid_t pid = start_exporter(&j, token);
  shmbuf_client *c = client(), *q = client();
  shmbuf_buf *a, *b, *s;
  ck_assert_int_eq(shmbuf_import(c, token, &a), 0);
  ck_assert_int_eq(shmbuf_from_string(c, "sealed", SHMBUF_CSTR, NULL, &s), 0);
  ck_assert_int_eq(shmbuf_share(s, SHMBUF_SHARE_SEALED | SHMBUF_SHARE_PERSIST, 200, sealed), 0);
  ck_assert_int_eq(shmbuf_import(q, sealed, &b), 0);
  ck_assert_int_eq(kill(pid, SIGKILL), 0);
  reap(pid);
  shmbuf_close(c);
  shmbuf_close(q);
  usleep(300 * 1000); /* the persisting token's TTL */
  ck_assert_uint_eq(sbt_stat_wait(&D, "shares", 0, 5000), 0);
  for (int i = 0; i < 8; i++)
    ck_assert_msg(sbt_stat_wait(&D, names[i], before[i], 5000) == before[i], "%s: %llu, was %llu",
                  names[i], (unsigned long long)sbt_stat(&D, names[i]),
                  (unsigned long long)before[i]);
}
END_TEST

/* ---- nothing else leaks ---------------------------------------------------------------------- */

#define MAX_MAPS 256

typedef struct memfd_maps {
  unsigned long lo[MAX_MAPS], hi[MAX_MAPS];
  int n;
} memfd_maps;

/* The readable memfd mappings of this process. */
static void list_memfd_maps(memfd_maps *m) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512], perms[8];
  m->n = 0;
  while (f && m->n < MAX_MAPS && fgets(line, sizeof line, f))
    if (sscanf(line, "%lx-%lx %7s", &m->lo[m->n], &m->hi[m->n], perms) == 3 &&
        strstr(line, "/memfd:") && perms[0] == 'r')
      m->n++;
  if (f)
    fclose(f);
}

static bool listed(const memfd_maps *m, unsigned long lo) {
  for (int i = 0; i < m->n; i++)
    if (m->lo[i] == lo)
      return true;
  return false;
}

/* Scans every memfd mapping this process made since `before` (a forked child inherits its
 * parent's) for the marker: 0 when none holds it, 20 + how many do. */
static int scan_for_marker(const memfd_maps *before) {
  memfd_maps now;
  int found = 0, mappings = 0;
  list_memfd_maps(&now);
  for (int i = 0; i < now.n; i++) {
    if (listed(before, now.lo[i]))
      continue;
    mappings++;
    if (memmem((void *)now.lo[i], now.hi[i] - now.lo[i], MARKER, strlen(MARKER)))
      found++;
  }
  return found ? 20 + found : mappings ? 0 : 19;
}

typedef struct canary_job {
  char tokens[4][SHMBUF_TOKEN_MAX];
  int n;
} canary_job;

static int canary_importer(void *arg) {
  canary_job *j = arg;
  shmbuf_client *c;
  shmbuf_buf *b[4];
  static memfd_maps inherited;
  list_memfd_maps(&inherited);
  if (shmbuf_connect(D.sock, &c) < 0)
    return 2;
  int status = 0;
  for (int i = 0; i < j->n && status == 0; i++)
    if (shmbuf_import(c, j->tokens[i], &b[i]) < 0)
      status = 3;
  if (status == 0)
    status = scan_for_marker(&inherited);
  shmbuf_close(c);
  return status;
}

START_TEST(importers_see_nothing_but_the_shared_bytes) {
  shmbuf_client *c = client();
  shmbuf_buf *keep[64];
  int n = 0;
  /* the exporter's other buffers, of every kind, all full of the marker */
  const int64_t sizes[] = {10, 100, 1000, 3000, 5000, 70000, 3 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    ck_assert_int_eq(shmbuf_alloc_unsafe(c, sizes[i], &keep[n++]), 0);
    ck_assert_int_eq(shmbuf_alloc(c, sizes[i], &keep[n++]), 0);
  }
  canary_job j = {0};
  shmbuf_buf *shared[4];
  ck_assert_int_eq(shmbuf_from_string(c, "pooled and shared", SHMBUF_CSTR, NULL, &shared[0]), 0);
  ck_assert_int_eq(shmbuf_alloc(c, 200, &shared[1]), 0);
  ck_assert_int_eq(shmbuf_alloc_unsafe_slow(c, 6000, &shared[2]), 0);
  ck_assert_int_eq(shmbuf_alloc(c, 3 << 20, &shared[3]), 0);
  for (int i = 0; i < n; i++)
    for (size_t at = 0; at + strlen(MARKER) <= shmbuf_length(keep[i]); at += strlen(MARKER))
      memcpy(shmbuf_data(keep[i]) + at, MARKER, strlen(MARKER));
  for (int i = 0; i < 4; i++) {
    ck_assert_int_eq(shmbuf_share(shared[i], 0, 0, j.tokens[i]), 0);
    j.n++;
  }
  ck_assert_int_eq(reap(as_user(UID_A, GID_A, canary_importer, &j)), 0);
  /* and the scan finds the marker where it is */
  ck_assert_int_eq(shmbuf_write_string(shared[1], MARKER, SHMBUF_CSTR, 0, SHMBUF_UNDEFINED, NULL),
                   (int64_t)strlen(MARKER));
  ck_assert_int_eq(reap(as_user(UID_A, GID_A, canary_importer, &j)), 21);
  shmbuf_close(c);
}
END_TEST

/* ---- the kernel's facts, through raw frames -------------------------------------------------- */

typedef struct req {
  Shmbufwire__Request q;
  Shmbufwire__Alloc alloc;
  Shmbufwire__Share share;
  Shmbufwire__ShareRange range;
  Shmbufwire__Import import;
} req;

static Shmbufwire__Reply *raw_alloc(int fd, uint64_t id, int64_t size) {
  req r;
  shmbufwire__request__init(&r.q);
  shmbufwire__alloc__init(&r.alloc);
  r.alloc.size = size;
  r.q.id = id;
  r.q.op_case = SHMBUFWIRE__REQUEST__OP_ALLOC;
  r.q.alloc = &r.alloc;
  return sbt_call(fd, &r.q, NULL, NULL);
}

static Shmbufwire__Reply *raw_share(int fd, uint64_t id, uint64_t buffer, uint64_t ab_offset,
                                    uint64_t ab_length, bool sealed) {
  req r;
  shmbufwire__request__init(&r.q);
  shmbufwire__share__init(&r.share);
  shmbufwire__share_range__init(&r.range);
  r.range = (Shmbufwire__ShareRange){r.range.base, buffer, ab_offset, ab_length, 0, ab_length};
  r.share.range = &r.range;
  r.share.sealed = sealed;
  r.q.id = id;
  r.q.op_case = SHMBUFWIRE__REQUEST__OP_SHARE;
  r.q.share = &r.share;
  int fds[1];
  size_t nfds = 0;
  Shmbufwire__Reply *rep = sbt_call(fd, &r.q, fds, &nfds);
  for (size_t i = 0; i < nfds; i++)
    close(fds[i]);
  return rep;
}

/* Imports token on a raw connection; the slab fd in *out. */
static Shmbufwire__Reply *raw_import(int fd, uint64_t id, const char *token, int *out) {
  req r;
  shmbufwire__request__init(&r.q);
  shmbufwire__import__init(&r.import);
  r.import.token = (char *)token;
  r.q.id = id;
  r.q.op_case = SHMBUFWIRE__REQUEST__OP_IMPORT;
  r.q.import = &r.import;
  size_t nfds = 0;
  Shmbufwire__Reply *rep = sbt_call(fd, &r.q, out, &nfds);
  ck_assert_uint_eq(nfds, 1);
  return rep;
}

START_TEST(an_imported_descriptor_can_neither_write_nor_resize) {
  int p = sbt_connect(&D), q = sbt_connect(&D);
  sbt_hello(p);
  sbt_hello(q);
  Shmbufwire__Reply *a = raw_alloc(p, 2, 5000);
  ck_assert_int_eq(a->result_case, SHMBUFWIRE__REPLY__RESULT_BUFFER);
  Shmbufwire__Reply *s = raw_share(p, 3, a->buffer->buffer, 0, 5000, false);
  ck_assert_int_eq(s->result_case, SHMBUFWIRE__REPLY__RESULT_SHARED);
  ck_assert(s->shared->buffer->shared);
  int fd;
  Shmbufwire__Reply *im = raw_import(q, 2, s->shared->token, &fd);
  ck_assert_int_eq(im->result_case, SHMBUFWIRE__REPLY__RESULT_BUFFER);
  ck_assert(im->buffer->read_only);
  ck_assert_int_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
  int seals = fcntl(fd, F_GET_SEALS);
  ck_assert_int_eq(seals & (F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL),
                   F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
  struct stat st;
  ck_assert_int_eq(fstat(fd, &st), 0);
  ck_assert_int_eq(st.st_size, (off_t)im->buffer->slab_size);
  ck_assert_int_ne(ftruncate(fd, 0), 0);
  ck_assert_ptr_eq(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), MAP_FAILED);
  ck_assert_int_eq(errno, EACCES);
  /* reopened through /proc, the object is still read-only to this user's descriptor */
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  int again = open(path, O_RDWR);
  if (again >= 0) { /* root may reopen it writable, but never resize it */
    ck_assert_int_ne(ftruncate(again, 0), 0);
    ck_assert_int_ne(fallocate(again, 0, 0, 1 << 30), 0);
    close(again);
  }
  close(fd);
  shmbufwire__reply__free_unpacked(im, NULL);

  /* a sealed share: the object itself refuses writes */
  Shmbufwire__Reply *s2 = raw_share(p, 4, a->buffer->buffer, 0, 5000, true);
  ck_assert_int_eq(s2->result_case, SHMBUFWIRE__REPLY__RESULT_SHARED);
  ck_assert(s2->shared->buffer->sealed);
  im = raw_import(q, 3, s2->shared->token, &fd);
  ck_assert(im->buffer->sealed);
  ck_assert_int_eq(fcntl(fd, F_GET_SEALS) & F_SEAL_WRITE, F_SEAL_WRITE);
  close(fd);
  shmbufwire__reply__free_unpacked(im, NULL);
  shmbufwire__reply__free_unpacked(s2, NULL);
  shmbufwire__reply__free_unpacked(s, NULL);
  shmbufwire__reply__free_unpacked(a, NULL);
  close(p);
  close(q);
}
END_TEST

START_TEST(malformed_share_requests_get_errors) {
  int p = sbt_connect(&D);
  sbt_hello(p);
  Shmbufwire__Reply *a = raw_alloc(p, 2, 100);
  uint64_t id = a->buffer->buffer;
  shmbufwire__reply__free_unpacked(a, NULL);
  struct {
    uint64_t buffer, ab_offset, ab_length;
    const char *code;
  } cases[] = {
      {id + 1000, 0, 100, "ERR_INVALID_ARG_VALUE"},
      {id, 0, 101, "ERR_BUFFER_OUT_OF_BOUNDS"},
      {id, 101, 0, "ERR_BUFFER_OUT_OF_BOUNDS"},
      {id, UINT64_MAX, 2, "ERR_BUFFER_OUT_OF_BOUNDS"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    Shmbufwire__Reply *r =
        raw_share(p, 3 + i, cases[i].buffer, cases[i].ab_offset, cases[i].ab_length, false);
    ck_assert_int_eq(r->result_case, SHMBUFWIRE__REPLY__RESULT_ERROR);
    ck_assert_str_eq(r->error->code, cases[i].code);
    shmbufwire__reply__free_unpacked(r, NULL);
  }
  /* a share without its range */
  req r;
  shmbufwire__request__init(&r.q);
  shmbufwire__share__init(&r.share);
  r.q.id = 20;
  r.q.op_case = SHMBUFWIRE__REQUEST__OP_SHARE;
  r.q.share = &r.share;
  Shmbufwire__Reply *rep = sbt_call(p, &r.q, NULL, NULL);
  ck_assert_int_eq(rep->result_case, SHMBUFWIRE__REPLY__RESULT_ERROR);
  ck_assert_str_eq(rep->error->code, "ERR_INVALID_ARG_TYPE");
  shmbufwire__reply__free_unpacked(rep, NULL);
  ck_assert_uint_eq(sbt_stat(&D, "shares"), 0);
  close(p);
}
END_TEST

static Suite *share_suite(void) {
  Suite *s = suite_create("share");
  TCase *t = tcase_create("stories");
  tcase_add_checked_fixture(t, up, down);
  tcase_set_timeout(t, 60);
  tcase_add_test(t, every_kind_of_buffer_is_shared_without_a_copy_per_byte);
  tcase_add_test(t, a_thin_client_shares_its_pooled_buffers_too);
  tcase_add_test(t, read_only_imports_are_enforced_by_the_kernel);
  tcase_add_test(t, writable_shares_are_written_by_importers);
  tcase_add_test(t, sealed_buffers_refuse_every_writer);
  tcase_add_test(t, a_share_can_seal_first);
  tcase_add_test(t, an_exporter_killed_leaves_importers_their_bytes);
  tcase_add_test(t, a_persisting_share_outlives_its_exporter_until_its_ttl);
  tcase_add_test(t, a_persisting_share_needs_a_ttl);
  tcase_add_test(t, tokens_expire_get_used_up_and_are_revoked);
  tcase_add_test(t, guessed_and_malformed_tokens_get_one_answer);
  tcase_add_test(t, tokens_for_some_users_refuse_the_others);
  tcase_add_test(t, read_only_importers_cannot_hand_on_write_access);
  suite_add_tcase(s, t);

  TCase *acc = tcase_create("accounting");
  tcase_add_checked_fixture(acc, up, down);
  tcase_set_timeout(acc, 60);
  tcase_add_test(acc, one_party_pays_for_each_shared_object);
  tcase_add_test(acc, an_exporter_importing_its_own_share_is_counted_once);
  tcase_add_test(acc, imports_count_against_the_importers_limits);
  tcase_add_test(acc, stats_come_back_to_their_baseline);
  tcase_add_test(acc, importers_see_nothing_but_the_shared_bytes);
  suite_add_tcase(s, acc);

  TCase *k = tcase_create("kernel");
  tcase_add_checked_fixture(k, up, down);
  tcase_set_timeout(k, 60);
  tcase_add_test(k, an_imported_descriptor_can_neither_write_nor_resize);
  tcase_add_test(k, malformed_share_requests_get_errors);
  suite_add_tcase(s, k);
  return s;
}

int main(void) {
  SRunner *r = srunner_create(share_suite());
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
