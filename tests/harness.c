/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "harness.h"
#include "requests.h"

#include "frame.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Waits stretched by $SHMBUF_TIMEOUT_SCALE, for runs under valgrind. */
static int scaled(int ms) {
  const char *f = getenv("SHMBUF_TIMEOUT_SCALE");
  int k = f ? atoi(f) : 1;
  return ms * (k > 0 ? k : 1);
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

static int try_connect(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(fd, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
    return fd;
  close(fd);
  return -1;
}

/* fork(), with a child that is killed when the test process dies (and ends at once if that
 * happened before it could ask). */
static pid_t fork_tied(void) {
  pid_t parent = getpid(), pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(127);
  }
  return pid;
}

void sbt_start(sbt_daemon *d, const char *const *args) {
  if (d->dir[0] == '\0') {
    snprintf(d->dir, sizeof d->dir, "/tmp/shmbuf-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(d->dir));
  }
  snprintf(d->sock, sizeof d->sock, "%s/s.sock", d->dir);
  const char *bin = getenv("SHMBUFD") ? getenv("SHMBUFD") : "./shmbufd";
  const char *argv[32] = {bin, "--socket", d->sock, "--log-level", "notice", "--config",
                          "/dev/null"};
  size_t n = 7;
  for (size_t i = 0; args && args[i] && n < 31; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  d->pid = fork_tied();
  if (d->pid == 0) {
    /* systemd variables of the test runner's own environment are not for this daemon */
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_PID");
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    execv(bin, (char *const *)argv);
    _exit(127);
  }
  for (int waited = 0; waited < scaled(10000); waited += 5) {
    int fd = try_connect(d->sock);
    if (fd >= 0) {
      close(fd);
      return;
    }
    int status;
    if (waitpid(d->pid, &status, WNOHANG) == d->pid)
      ck_abort_msg("shmbufd exited at startup (status %d)", status);
    sleep_ms(5);
  }
  ck_abort_msg("shmbufd did not start listening on %s", d->sock);
}

void sbt_terminate(sbt_daemon *d) {
  if (d->pid <= 0)
    return;
  kill(d->pid, SIGTERM);
  int status = 0;
  ck_assert_int_eq(waitpid(d->pid, &status, 0), d->pid);
  d->pid = 0;
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "shmbufd did not exit cleanly (status 0x%x)", status);
  ck_assert_msg(access(d->sock, F_OK) != 0, "shmbufd left its socket file behind");
}

void sbt_stop(sbt_daemon *d) {
  if (d->dir[0] == '\0')
    return;
  sbt_terminate(d);
  rmdir(d->dir);
  d->dir[0] = '\0';
}

int sbt_connect(const sbt_daemon *d) {
  int fd = try_connect(d->sock);
  ck_assert_msg(fd >= 0, "cannot connect to %s: %s", d->sock, strerror(errno));
  return fd;
}

void sbt_write(int fd, const void *p, size_t n) {
  const uint8_t *b = p;
  while (n > 0) {
    ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    ck_assert_msg(w > 0, "send: %s", strerror(errno));
    b += w;
    n -= (size_t)w;
  }
}

void sbt_send(int fd, Shmbufwire__Request *q) {
  sb_bytes out = {0};
  ck_assert_int_eq(sb_frame_append(&out, &q->base, UINT32_MAX), 0);
  sbt_write(fd, sb_bytes_head(&out), out.len);
  sb_bytes_free(&out);
}

void sbt_send_batch(int fd, Shmbufwire__Batch *b) {
  sb_bytes out = {0};
  ck_assert_int_eq(sb_frame_append_batch(&out, &b->base, UINT32_MAX), 0);
  sbt_write(fd, sb_bytes_head(&out), out.len);
  sb_bytes_free(&out);
}

/* Reads exactly n bytes, collecting fds (closing them when fds is NULL). Returns 1, 0 on EOF
 * before the first byte, -ETIMEDOUT when nothing comes within timeout_ms, or -EPIPE when the
 * connection ends inside. */
static int read_exact(int fd, uint8_t *p, size_t n, int *fds, size_t *nfds, int timeout_ms) {
  size_t got = 0;
  while (got < n) {
    struct pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, scaled(timeout_ms)) <= 0)
      return -ETIMEDOUT;
    union {
      struct cmsghdr h;
      char buf[CMSG_SPACE(sizeof(int) * 253)];
    } ctl;
    struct iovec iov = {p + got, n - got};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                         .msg_controllen = sizeof ctl.buf};
    ssize_t r = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return got == 0 ? 0 : -EPIPE;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
      if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
        for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
          int f;
          memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof f);
          if (fds)
            fds[(*nfds)++] = f;
          else
            close(f);
        }
    got += (size_t)r;
  }
  return 1;
}

/* Reads one frame of at most 1 MiB into *payload (malloc'd). Returns 1, 0 on EOF before it,
 * or a negative errno (-ETIMEDOUT, -EPIPE, -EMSGSIZE). */
static int read_frame(int fd, int *fds, size_t *nfds, int timeout_ms, uint8_t **payload,
                      uint32_t *len, bool *batch) {
  uint8_t h[SB_FRAME_HEADER];
  int rc = read_exact(fd, h, sizeof h, fds, nfds, timeout_ms);
  if (rc <= 0)
    return rc;
  *len = sb_frame_length(h) & ~SB_FRAME_BATCH;
  *batch = sb_frame_length(h) & SB_FRAME_BATCH;
  if (*len > 1u << 20)
    return -EMSGSIZE;
  if ((*payload = malloc(*len ? *len : 1)) == NULL)
    return -ENOMEM;
  rc = *len ? read_exact(fd, *payload, *len, fds, nfds, timeout_ms) : 1;
  if (rc <= 0) {
    free(*payload);
    return rc == 0 ? -EPIPE : rc;
  }
  return 1;
}

bool sbt_recv_frame(int fd, int *fds, size_t *nfds, int timeout_ms, Shmbufwire__Reply **r,
                    Shmbufwire__Made **m) {
  uint8_t *p;
  uint32_t len;
  bool batch;
  int rc = read_frame(fd, fds, nfds, timeout_ms, &p, &len, &batch);
  ck_assert_msg(rc != -ETIMEDOUT, "no reply within %d ms", scaled(timeout_ms));
  ck_assert_msg(rc >= 0, "reading a reply: %s", strerror(-rc));
  *r = NULL;
  *m = NULL;
  if (rc == 0)
    return false;
  if (batch)
    ck_assert_ptr_nonnull(*m = shmbufwire__made__unpack(NULL, len, p));
  else
    ck_assert_ptr_nonnull(*r = shmbufwire__reply__unpack(NULL, len, p));
  free(p);
  return true;
}

Shmbufwire__Reply *sbt_recv(int fd, int *fds, size_t *nfds, int timeout_ms) {
  Shmbufwire__Reply *r;
  Shmbufwire__Made *m;
  sbt_recv_frame(fd, fds, nfds, timeout_ms, &r, &m);
  ck_assert_msg(m == NULL, "a Made frame where a Reply was due");
  return r;
}

Shmbufwire__Reply *sbt_recv_within(int fd, int *fds, size_t *nfds, int timeout_ms) {
  struct pollfd pfd = {fd, POLLIN, 0};
  if (poll(&pfd, 1, scaled(timeout_ms)) <= 0)
    return NULL;
  return sbt_recv(fd, fds, nfds, 5000);
}

Shmbufwire__Reply *sbt_call(int fd, Shmbufwire__Request *q, int *fds, size_t *nfds) {
  sbt_send(fd, q);
  Shmbufwire__Reply *r = sbt_recv(fd, fds, nfds, 5000);
  ck_assert_msg(r != NULL, "the daemon closed the connection");
  ck_assert_uint_eq(r->id, q->id);
  return r;
}

void sbt_hello(int fd) {
  req q;
  Shmbufwire__Reply *r = sbt_call(fd, req_hello(&q, 1, SB_PROTOCOL_VERSION), NULL, NULL);
  ck_assert_int_eq(r->result_case, SHMBUFWIRE__REPLY__RESULT_WELCOME);
  ck_assert_uint_eq(r->welcome->version, SB_PROTOCOL_VERSION);
  shmbufwire__reply__free_unpacked(r, NULL);
}

bool sbt_closed_by_peer(int fd, int timeout_ms) {
  for (;;) {
    struct pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, scaled(timeout_ms)) <= 0)
      return false;
    uint8_t buf[4096];
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r == 0 || (r < 0 && errno == ECONNRESET))
      return true;
    if (r < 0)
      return false;
  }
}

uint64_t sbt_stat(const sbt_daemon *d, const char *name) {
  int fd = sbt_connect(d);
  sbt_hello(fd);
  req q;
  Shmbufwire__Reply *r = sbt_call(fd, req_stats(&q, 2), NULL, NULL);
  ck_assert_int_eq(r->result_case, SHMBUFWIRE__REPLY__RESULT_STATS);
  uint64_t v = UINT64_MAX;
  for (size_t i = 0; i < r->stats->n_counters; i++)
    if (strcmp(r->stats->counters[i]->name, name) == 0)
      v = r->stats->counters[i]->value;
  shmbufwire__reply__free_unpacked(r, NULL);
  close(fd);
  ck_assert_msg(v != UINT64_MAX, "no counter named %s", name);
  /* this asking connection counts itself while it is open */
  if (strcmp(name, "connections") == 0)
    v--;
  return v;
}

uint64_t sbt_stat_wait(const sbt_daemon *d, const char *name, uint64_t want, int timeout_ms) {
  uint64_t v = sbt_stat(d, name);
  for (int waited = 0; v != want && waited < scaled(timeout_ms); waited += 10) {
    sleep_ms(10);
    v = sbt_stat(d, name);
  }
  return v;
}

int sbt_count_fds(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  DIR *dir = opendir(path);
  ck_assert_ptr_nonnull(dir);
  int n = 0;
  for (struct dirent *e; (e = readdir(dir));)
    n += e->d_name[0] != '.';
  closedir(dir);
  return n - (pid == getpid()); /* opendir's own fd */
}

int sbt_count_fds_settled(pid_t pid) {
  int last = sbt_count_fds(pid), same = 0;
  for (int waited = 0; same < 2 && waited < 2000; waited += 20) {
    sleep_ms(20);
    int now = sbt_count_fds(pid);
    same = now == last ? same + 1 : 0;
    last = now;
  }
  return last;
}

int sbt_count_shm_maps(pid_t pid) {
  char path[64], line[512];
  snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
  FILE *f = fopen(path, "re");
  ck_assert_ptr_nonnull(f);
  int n = 0;
  while (fgets(line, sizeof line, f))
    n += strstr(line, "/memfd:shmbuf") != NULL;
  fclose(f);
  return n;
}

uint64_t sbt_proc_kib(pid_t pid, const char *field) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  size_t n = strlen(field);
  unsigned long long kib = 0;
  bool found = false;
  while (!found && fgets(line, sizeof line, f))
    found = strncmp(line, field, n) == 0 && line[n] == ':' && sscanf(line + n + 1, "%llu", &kib) == 1;
  fclose(f);
  ck_assert_msg(found, "no %s in %s", field, path);
  return kib;
}

void sbt_proc_comm(pid_t pid, char *out, size_t cap) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  ck_assert_ptr_nonnull(fgets(out, (int)cap, f));
  fclose(f);
  out[strcspn(out, "\n")] = '\0';
}

size_t sbt_send_until_stalled(int fd, const void *p, size_t n, int quiet_ms) {
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  size_t sent = 0;
  while (sent < n) {
    ssize_t w = send(fd, (const uint8_t *)p + sent, n - sent, MSG_NOSIGNAL);
    if (w > 0) {
      sent += (size_t)w;
      continue;
    }
    ck_assert_msg(w < 0 && errno == EAGAIN, "send: %s", strerror(errno));
    struct pollfd q = {fd, POLLOUT, 0};
    if (poll(&q, 1, scaled(quiet_ms)) == 0)
      break;
  }
  fcntl(fd, F_SETFL, flags);
  return sent;
}

int sbt_run(const char *const *argv, const char *in, char *out, size_t cap, char *err,
            size_t errcap) {
  return sbt_run_input(argv, in, in ? strlen(in) : 0, out, cap, err, errcap);
}

const char *sbt_vectors(void) {
  const char *v = getenv("SHMBUF_VECTORS");
  return v ? v : "tests/vectors";
}

pid_t sbt_spawn(const char *const *argv, const char *const *env, const char *out_path) {
  int out = -1;
  if (out_path) {
    out = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    ck_assert_msg(out >= 0, "%s: %s", out_path, strerror(errno));
  }
  pid_t pid = fork_tied();
  if (pid == 0) {
    for (size_t i = 0; env && env[i]; i++) {
      const char *eq = strchr(env[i], '=');
      if (eq == NULL) {
        unsetenv(env[i]);
        continue;
      }
      char name[256];
      snprintf(name, sizeof name, "%.*s", (int)(eq - env[i]), env[i]);
      setenv(name, eq + 1, 1);
    }
    int in = open("/dev/null", O_RDONLY);
    if (in > 0) {
      dup2(in, 0);
      close(in);
    }
    if (out >= 0) {
      dup2(out, 1);
      dup2(out, 2);
    }
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  if (out >= 0)
    close(out);
  return pid;
}

int sbt_wait(pid_t pid, int timeout_ms) {
  int status;
  for (int waited = 0;; waited += 5) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    ck_assert_int_ge(r, 0);
    if (r == pid)
      break;
    if (waited >= timeout_ms) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ck_abort_msg("process %d did not end within %d ms", (int)pid, timeout_ms);
    }
    sleep_ms(5);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Appends what one read() of fd gives to buf (cut to cap, NUL-terminated). Returns false at
 * EOF or on an error. */
static bool read_into(int fd, char *buf, size_t cap, size_t *n) {
  char chunk[4096];
  ssize_t r = read(fd, chunk, sizeof chunk);
  if (r < 0 && (errno == EINTR || errno == EAGAIN))
    return true;
  if (r <= 0)
    return false;
  size_t keep = cap && *n < cap - 1 ? ((size_t)r < cap - 1 - *n ? (size_t)r : cap - 1 - *n) : 0;
  memcpy(buf + *n, chunk, keep);
  *n += keep;
  if (cap)
    buf[*n] = '\0';
  return true;
}

int sbt_run_input(const char *const *argv, const void *in, size_t in_len, char *out, size_t cap,
                  char *err, size_t errcap) {
  int o[2], e[2], i[2];
  ck_assert_int_eq(pipe2(o, O_CLOEXEC), 0);
  ck_assert_int_eq(pipe2(e, O_CLOEXEC), 0);
  ck_assert_int_eq(pipe2(i, O_CLOEXEC), 0);
  pid_t pid = fork_tied();
  if (pid == 0) {
    dup2(i[0], 0);
    dup2(o[1], 1);
    dup2(e[1], 2);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  close(o[1]);
  close(e[1]);
  close(i[0]);
  /* a child that stops reading its input must not kill us (set after the fork: the child
   * keeps the default) */
  void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
  fcntl(i[1], F_SETFL, O_NONBLOCK);
  size_t sent = 0, no = 0, ne = 0;
  if (cap)
    out[0] = '\0';
  if (errcap)
    err[0] = '\0';
  int in_fd = i[1];
  if (in_len == 0) {
    close(in_fd);
    in_fd = -1;
  }
  bool o_open = true, e_open = true;
  while (o_open || e_open) {
    struct pollfd p[3] = {{o_open ? o[0] : -1, POLLIN, 0},
                          {e_open ? e[0] : -1, POLLIN, 0},
                          {in_fd, POLLOUT, 0}};
    int pr = poll(p, 3, -1);
    if (pr < 0 && errno == EINTR)
      continue;
    ck_assert_int_gt(pr, 0);
    if (in_fd >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = write(in_fd, (const char *)in + sent, in_len - sent);
      if (w > 0)
        sent += (size_t)w;
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || sent == in_len) {
        close(in_fd); /* done, or the child closed its end */
        in_fd = -1;
      }
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
      o_open = read_into(o[0], out, cap, &no);
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
      e_open = read_into(e[0], err, errcap, &ne);
  }
  if (in_fd >= 0)
    close(in_fd);
  signal(SIGPIPE, old_pipe);
  close(o[0]);
  close(e[0]);
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- a fake daemon ---------------------------------------------------------------------- */

/* The child's side fails by exiting: Check's assertions belong to the test process (without
 * fork mode they would jump back into a copy of the test runner). */
static void fake_fail(const char *what) {
  fprintf(stderr, "fake shmbufd: %s\n", what);
  _exit(1);
}

void sbt_fake_start(sbt_fake *f, void (*serve)(int conn, void *arg), void *arg) {
  snprintf(f->dir, sizeof f->dir, "/tmp/shmbuf-fake-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(f->dir));
  snprintf(f->sock, sizeof f->sock, "%s/s.sock", f->dir);
  int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(lfd, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  ck_assert_uint_lt(strlen(f->sock), sizeof a.sun_path);
  memcpy(a.sun_path, f->sock, strlen(f->sock) + 1);
  ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
  ck_assert_int_eq(listen(lfd, 1), 0);
  f->pid = fork_tied();
  if (f->pid == 0) {
    int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0)
      fake_fail("accept");
    close(lfd);
    serve(conn, arg);
    uint8_t buf[4096]; /* until the client closes */
    struct pollfd p = {conn, POLLIN, 0};
    while (poll(&p, 1, scaled(30000)) > 0 && recv(conn, buf, sizeof buf, 0) > 0)
      ;
    _exit(0);
  }
  close(lfd);
}

void sbt_fake_stop(sbt_fake *f) {
  int status = sbt_wait(f->pid, scaled(10000));
  unlink(f->sock);
  rmdir(f->dir);
  ck_assert_msg(status == 0, "the fake daemon failed (status %d)", status);
}

bool sbt_recv_request(int fd, int timeout_ms, Shmbufwire__Request **q, Shmbufwire__Batch **b) {
  uint8_t *p;
  uint32_t len;
  bool batch;
  int rc = read_frame(fd, NULL, NULL, timeout_ms, &p, &len, &batch);
  if (rc == 0 || rc == -EPIPE)
    return false;
  if (rc < 0)
    fake_fail("no request came");
  *q = batch ? NULL : shmbufwire__request__unpack(NULL, len, p);
  *b = batch ? shmbufwire__batch__unpack(NULL, len, p) : NULL;
  free(p);
  if (*q == NULL && *b == NULL)
    fake_fail("an undecodable request");
  return true;
}

/* Sends one frame, a Reply or a Made, with the fds on its first byte. */
static void send_frame(int fd, const ProtobufCMessage *m, bool batch, const int *fds,
                       size_t nfds) {
  sb_bytes out = {0};
  if ((batch ? sb_frame_append_batch(&out, m, UINT32_MAX)
             : sb_frame_append(&out, m, UINT32_MAX)) < 0)
    fake_fail("cannot frame a reply");
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int) * 8)];
  } ctl;
  struct iovec iov = {sb_bytes_head(&out), out.len};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  if (nfds > 8)
    fake_fail("too many fds for one reply");
  if (nfds > 0) {
    memset(&ctl, 0, sizeof ctl);
    msg.msg_control = ctl.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
  }
  ssize_t n;
  do
    n = sendmsg(fd, &msg, MSG_NOSIGNAL); /* the fds ride on the first byte */
  while (n < 0 && errno == EINTR);
  /* the rest, unless the client hung up, which is what some tests are about */
  for (size_t sent = n > 0 ? (size_t)n : out.len; sent < out.len;) {
    struct pollfd p = {fd, POLLOUT, 0};
    if (poll(&p, 1, scaled(5000)) <= 0)
      fake_fail("the client stopped reading");
    n = send(fd, sb_bytes_head(&out) + sent, out.len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EINTR && errno != EAGAIN)
      break;
    sent += n > 0 ? (size_t)n : 0;
  }
  sb_bytes_free(&out);
}

void sbt_send_reply(int fd, Shmbufwire__Reply *r, const int *fds, size_t nfds) {
  send_frame(fd, &r->base, false, fds, nfds);
}

void sbt_send_made(int fd, Shmbufwire__Made *m, const int *fds, size_t nfds) {
  send_frame(fd, &m->base, true, fds, nfds);
}

int sbt_shm(size_t size) {
  char name[64];
  static unsigned seq;
  snprintf(name, sizeof name, "/shmbuf-fake-%d-%u", (int)getpid(), seq++);
  int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    fake_fail("shm_open");
  shm_unlink(name);
  if (posix_fallocate(fd, 0, (off_t)size) != 0)
    fake_fail("posix_fallocate");
  return fd;
}
