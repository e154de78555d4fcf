/* SPDX-License-Identifier: MIT */
/* shmbufd as a systemd service: the shipped units (the system ones and the per-user ones)
 * under systemd-analyze, socket activation by systemd-socket-activate, sd_notify messages read
 * from the test's own NOTIFY_SOCKET, SIGHUP reloads, and the log format. None of it needs
 * systemd as PID 1. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "harness.h"
#include "requests.h"
#include "shmbuf.h"

#define OUT_CAP (64 * 1024)

/* One test's world: a private directory with the daemon's socket, a NOTIFY_SOCKET the test
 * reads, the daemon's log (its stdout and stderr) and its settings file. */
typedef struct world {
  char dir[32];
  char sock[64];
  char notify[64];
  char log[64];
  char conf[64];
  int nfd;
  pid_t pid;
} world;

static world W;

static void setup(void) {
  memset(&W, 0, sizeof W);
  snprintf(W.dir, sizeof W.dir, "/tmp/shmbuf-sd-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(W.dir));
  snprintf(W.sock, sizeof W.sock, "%s/s.sock", W.dir);
  snprintf(W.notify, sizeof W.notify, "%s/notify", W.dir);
  snprintf(W.log, sizeof W.log, "%s/log", W.dir);
  snprintf(W.conf, sizeof W.conf, "%s/shmbufd.conf", W.dir);
  W.nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(W.nfd, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", W.notify);
  ck_assert_int_eq(bind(W.nfd, (struct sockaddr *)&a, sizeof a), 0);
}

/* Ends a daemon the test left running and removes the directory with everything in it. */
static void teardown(void) {
  if (W.pid > 0) {
    kill(W.pid, SIGKILL);
    waitpid(W.pid, NULL, 0);
  }
  close(W.nfd);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", W.dir);
  ck_assert_int_eq(system(cmd), 0);
}

/* ---- helpers ---------------------------------------------------------------------------- */

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The full path of a program on PATH; systemd's tools are a test dependency (bootstrap
 * installs them). */
static const char *which(const char *name, char *out, size_t cap) {
  const char *path = getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin";
  char *copy = strdup(path), *save = NULL;
  ck_assert_ptr_nonnull(copy);
  for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
    snprintf(out, cap, "%s/%s", d, name);
    if (access(out, X_OK) == 0) {
      free(copy);
      return out;
    }
  }
  free(copy);
  ck_abort_msg("%s is not installed (apt-get install systemd)", name);
  return NULL;
}

static const char *shmbufd_path(void) {
  static char path[PATH_MAX];
  const char *env = getenv("SHMBUFD");
  if (env && env[0] == '/')
    return env;
  char cwd[PATH_MAX - 16];
  ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
  snprintf(path, sizeof path, "%s/%s", cwd, env ? env : "shmbufd");
  return path;
}

static void read_file(const char *path, char *out, size_t cap) {
  FILE *f = fopen(path, "re");
  ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
  size_t n = fread(out, 1, cap - 1, f);
  out[n] = '\0';
  fclose(f);
}

/* Replaces path in one step, so a daemon reloading meanwhile reads the old or the new file. */
static void write_file(const char *path, const char *text) {
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "we");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(fputs(text, f) >= 0, 1);
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_int_eq(rename(tmp, path), 0);
}

/* True when text holds a line that starts with prefix (and ends there, when whole). */
static bool has_line_with(const char *text, const char *prefix, bool whole) {
  size_t n = strlen(prefix);
  for (const char *p = text; (p = strstr(p, prefix)); p++)
    if ((p == text || p[-1] == '\n') && (!whole || p[n] == '\n' || p[n] == '\0'))
      return true;
  return false;
}

static bool has_line(const char *text, const char *line) { return has_line_with(text, line, true); }

/* The next sd_notify datagram within timeout_ms, NUL-terminated in out; false on timeout. */
static bool note_next(char *out, size_t cap, int timeout_ms) {
  struct pollfd p = {W.nfd, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0)
    return false;
  ssize_t n = recv(W.nfd, out, cap - 1, 0);
  ck_assert_int_ge(n, 0);
  out[n] = '\0';
  return true;
}

/* Reads datagrams until one has a line that is want, or starts with it unless whole (others
 * are skipped). */
static void note_wait_for(const char *want, bool whole, char *out, size_t cap, int timeout_ms) {
  double end = now_ms() + timeout_ms;
  for (;;) {
    int left = (int)(end - now_ms());
    ck_assert_msg(left > 0 && note_next(out, cap, left), "no %s within %d ms", want, timeout_ms);
    if (has_line_with(out, want, whole))
      return;
  }
}

static void note_wait(const char *want, char *out, size_t cap, int timeout_ms) {
  note_wait_for(want, true, out, cap, timeout_ms);
}

/* Asserts that no datagram still queued has the line unwanted. */
static void notes_lack(const char *unwanted) {
  char m[1024];
  while (note_next(m, sizeof m, 0))
    ck_assert_msg(!has_line(m, unwanted), "unexpected %s", unwanted);
}

/* Starts the daemon on W.sock with W.notify as NOTIFY_SOCKET, the variables in env set (may be
 * NULL) and the extra arguments, its output in W.log, and waits for READY=1, which must be the
 * first message. */
static void start(const char *const *env, const char *const *args) {
  const char *argv[32] = {shmbufd_path(), "--socket", W.sock, "--log-level", "info"};
  size_t n = 5;
  for (size_t i = 0; args && args[i] && n < 31; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  char notify[160];
  snprintf(notify, sizeof notify, "NOTIFY_SOCKET=%s", W.notify);
  const char *envv[16] = {notify, "LISTEN_FDS", "LISTEN_PID", "WATCHDOG_USEC", "WATCHDOG_PID"};
  size_t e = 5;
  for (size_t i = 0; env && env[i] && e < 15; i++)
    envv[e++] = env[i];
  envv[e] = NULL;
  W.pid = sbt_spawn(argv, envv, W.log);
  char m[1024];
  ck_assert_msg(note_next(m, sizeof m, 10000), "no READY=1 within 10 s");
  ck_assert_msg(has_line(m, "READY=1"), "the first message is not READY=1: %s", m);
  ck_assert_msg(strstr(m, "\nSTATUS=") != NULL, "READY=1 comes without a status: %s", m);
}

/* Sends sig and waits for the daemon to end; returns its exit status. */
static int stop_with(int sig) {
  ck_assert_int_eq(kill(W.pid, sig), 0);
  int status = sbt_wait(W.pid, 15000);
  W.pid = 0;
  return status;
}

/* SIGHUP, then the RELOADING=1 ... READY=1 pair that says the reload is done. */
static void reload(void) {
  char m[1024];
  ck_assert_int_eq(kill(W.pid, SIGHUP), 0);
  note_wait("RELOADING=1", m, sizeof m, 10000);
  note_wait("READY=1", m, sizeof m, 10000);
}

static void assert_log_has(const char *text) {
  static char log[OUT_CAP];
  read_file(W.log, log, sizeof log);
  ck_assert_msg(strstr(log, text) != NULL, "the log lacks \"%s\":\n%.2000s", text, log);
}

static shmbuf_client *client(void) {
  shmbuf_client *c;
  int rc = shmbuf_connect(W.sock, &c);
  ck_assert_msg(rc == 0, "connect to %s: %s", W.sock, shmbuf_strerror(rc));
  return c;
}

/* shmbuf_alloc(size): 0, or the negative errno with Node's code checked. */
static int try_alloc(shmbuf_client *c, int64_t size) {
  shmbuf_buf *b;
  int rc = shmbuf_alloc(c, size, &b);
  if (rc == 0) {
    shmbuf_release(b);
    shmbuf_trim(c); /* really give it back, so the next try asks the daemon again */
  } else
    ck_assert_str_eq(shmbuf_error_code(), "ERR_MEMORY_ALLOCATION_FAILED");
  return rc;
}

/* ---- the shipped units ------------------------------------------------------------------ */

/* The build tree's units for the system manager (systemd/) and for a user manager
 * (systemd/user/, the same file names). */
static const char *units_dir(bool user) { return user ? "systemd/user" : "systemd"; }

/* Copies the units the build generated (what `make install` ships) into W.dir (the user units
 * into W.dir/user), pointing ExecStart= at the daemon just built instead of its install path,
 * which need not exist yet; every other line stays as shipped. The install path is checked
 * against configure's. */
static void copy_units(bool user, char *socket_unit, char *service_unit, size_t cap) {
  static char text[OUT_CAP], fixed[OUT_CAP], dir[48], path[PATH_MAX];
  snprintf(dir, sizeof dir, "%s%s", W.dir, user ? "/user" : "");
  ck_assert(!user || mkdir(dir, 0755) == 0);
  snprintf(socket_unit, cap, "%s/shmbufd.socket", dir);
  snprintf(service_unit, cap, "%s/shmbufd.service", dir);
  snprintf(path, sizeof path, "%s/shmbufd.socket", units_dir(user));
  read_file(path, text, sizeof text);
  write_file(socket_unit, text);
  snprintf(path, sizeof path, "%s/shmbufd.service", units_dir(user));
  read_file(path, text, sizeof text);
  const char *exec = strstr(text, "\nExecStart=");
  ck_assert_ptr_nonnull(exec);
  exec += strlen("\nExecStart=");
  size_t len = strcspn(exec, " \n");
  ck_assert_msg(len == strlen(SBINDIR "/shmbufd") && strncmp(exec, SBINDIR "/shmbufd", len) == 0,
                "%s: ExecStart= runs %.*s, not " SBINDIR "/shmbufd", path, (int)len, exec);
  snprintf(fixed, sizeof fixed, "%.*s%s%s", (int)(exec - text), text, shmbufd_path(), exec + len);
  write_file(service_unit, fixed);
}

/* Runs systemd-analyze with args (for a user manager when user), in an environment of its own:
 * PATH, and HOME and XDG_RUNTIME_DIR in W.dir. A user manager's lookup needs a runtime
 * directory (without one, analyze fails "Failed to lookup RuntimeDirectory path"), and these
 * keep the caller's own user units out of the check. Returns the exit status. */
static int analyze(bool user, const char *const *args, char *out, char *err) {
  static char env[PATH_MAX], tool[PATH_MAX], path[PATH_MAX], home[64], runtime[96];
  snprintf(path, sizeof path, "PATH=%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
  snprintf(home, sizeof home, "HOME=%s", W.dir);
  snprintf(runtime, sizeof runtime, "XDG_RUNTIME_DIR=%s/runtime", W.dir);
  ck_assert_int_eq(mkdir(runtime + strlen("XDG_RUNTIME_DIR="), 0700), 0);
  const char *argv[16] = {which("env", env, sizeof env), "-i", path, home, runtime,
                          which("systemd-analyze", tool, sizeof tool)};
  size_t n = 6;
  if (user)
    argv[n++] = "--user";
  for (size_t i = 0; args[i] && n < 15; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  return sbt_run(argv, NULL, out, OUT_CAP, err, OUT_CAP);
}

/* Reads the socket and service units the build generated (for a user manager when user), and
 * checks that sed left no template placeholder in them. */
static void read_units(bool user, char *sock, char *svc) {
  char path[64];
  snprintf(path, sizeof path, "%s/shmbufd.socket", units_dir(user));
  read_file(path, sock, OUT_CAP);
  snprintf(path, sizeof path, "%s/shmbufd.service", units_dir(user));
  read_file(path, svc, OUT_CAP);
  ck_assert_ptr_null(strstr(sock, "@"));
  ck_assert_ptr_null(strstr(svc, "@sbindir"));
}

/* Asserts that text, the unit `what`, has each of the n lines. */
static void assert_has_lines(const char *what, const char *text, const char *const *lines,
                             size_t n) {
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(has_line(text, lines[i]), "%s lacks %s", what, lines[i]);
}

START_TEST(system_units_say_what_they_must) {
  static char sock[OUT_CAP], svc[OUT_CAP];
  read_units(false, sock, svc);
  static const char *const sock_lines[] = {"ListenStream=/run/shmbuf/shmbufd.sock",
                                           "SocketMode=0660", "SocketGroup=shmbuf",
                                           "WantedBy=sockets.target"};
  assert_has_lines("shmbufd.socket", sock, sock_lines, sizeof sock_lines / sizeof *sock_lines);
  static const char *const svc_lines[] = {
      "Type=notify", "User=shmbuf", "Group=shmbuf", "RemoveIPC=no", "NoNewPrivileges=yes",
      "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
      "RestrictAddressFamilies=AF_UNIX", "SystemCallFilter=@system-service",
      "CapabilityBoundingSet=", "Requires=shmbufd.socket"};
  assert_has_lines("shmbufd.service", svc, svc_lines, sizeof svc_lines / sizeof *svc_lines);
  ck_assert_msg(strstr(svc, "\nWatchdogSec=") != NULL, "shmbufd.service has no watchdog");
  /* DynamicUser= implies RemoveIPC=yes; a RuntimeDirectory= would vanish from under the
   * socket when the service stops: the socket unit owns /run/shmbuf. */
  ck_assert_ptr_null(strstr(svc, "\nDynamicUser="));
  ck_assert_ptr_null(strstr(svc, "\nRuntimeDirectory="));
}
END_TEST

/* The user units serve the socket libshmbuf looks for first ($XDG_RUNTIME_DIR/shmbuf.sock),
 * to the user alone, and ask for the user namespace that systemd 252 needs before it applies
 * namespace sandboxing in a user service. */
START_TEST(user_units_say_what_they_must) {
  static char sock[OUT_CAP], svc[OUT_CAP];
  read_units(true, sock, svc);
  static const char *const sock_lines[] = {"ListenStream=%t/shmbuf.sock", "SocketMode=0600",
                                           "RemoveOnStop=yes", "WantedBy=sockets.target"};
  assert_has_lines("user shmbufd.socket", sock, sock_lines,
                   sizeof sock_lines / sizeof *sock_lines);
  static const char *const svc_lines[] = {"Type=notify", "PrivateUsers=yes",
                                          "Requires=shmbufd.socket", "Also=shmbufd.socket"};
  assert_has_lines("user shmbufd.service", svc, svc_lines, sizeof svc_lines / sizeof *svc_lines);
  static const char *const system_only[] = {"User=", "Group=", "DynamicUser=", "RemoveIPC="};
  for (size_t i = 0; i < sizeof system_only / sizeof *system_only; i++)
    ck_assert_msg(!has_line_with(svc, system_only[i], false), "user shmbufd.service sets %s",
                  system_only[i]);
}
END_TEST

/* What the system service has, the user service has too (activation, Type=notify, the
 * watchdog, reloads, every sandbox option), except what a user manager cannot do: change
 * users, or apply the cgroup, BPF and /proc options a user manager does not support. */
START_TEST(user_service_has_what_the_system_one_has) {
  static char sock[OUT_CAP], system[OUT_CAP], user[OUT_CAP];
  read_units(false, sock, system);
  read_units(true, sock, user);
  static const char *const system_only[] = {
      "User=", "Group=", "RemoveIPC=", "ProtectProc=", "ProcSubset=", "ProtectControlGroups=",
      "DevicePolicy=", "IPAddressDeny=", "Description="};
  int kept = 0;
  for (char *line = system, *next; *line; line = next) {
    next = strchr(line, '\n');
    ck_assert_ptr_nonnull(next);
    *next++ = '\0';
    if (line[0] == '#' || line[0] == '[' || line[0] == '\0')
      continue;
    bool skip = false;
    for (size_t i = 0; i < sizeof system_only / sizeof *system_only; i++)
      skip = skip || strncmp(line, system_only[i], strlen(system_only[i])) == 0;
    if (skip)
      continue;
    ck_assert_msg(has_line(user, line), "the user service lacks the system one's %s", line);
    kept++;
  }
  ck_assert_int_ge(kept, 30);
}
END_TEST

/* verify, for the system units (_i 0) and the user units (_i 1). */
START_TEST(verify_prints_nothing) {
  bool user = _i == 1;
  char sock[PATH_MAX], svc[PATH_MAX];
  static char out[OUT_CAP], err[OUT_CAP];
  copy_units(user, sock, svc, sizeof sock);
  /* Documentation= is checked against the built man pages by documented_man_pages_exist:
   * verify would ask man-db, which need not be installed */
  const char *args[] = {"verify", "--man=no", sock, svc, NULL};
  int rc = analyze(user, args, out, err);
  ck_assert_msg(rc == 0 && out[0] == '\0' && err[0] == '\0',
                "systemd-analyze%s verify (exit %d):\n%.1500s%.1500s", user ? " --user" : "",
                rc, out, err);
}
END_TEST

/* security's exposure score, for the system service (_i 0) and the user service (_i 1), which
 * runs as its user and without the options a user manager lacks. */
START_TEST(security_exposure_is_low) {
  bool user = _i == 1;
  double most = user ? 1.5 : 2.5;
  char sock[PATH_MAX], svc[PATH_MAX];
  static char out[OUT_CAP], err[OUT_CAP];
  copy_units(user, sock, svc, sizeof sock);
  const char *args[] = {"security", "--offline=yes", svc, NULL};
  int rc = analyze(user, args, out, err);
  ck_assert_msg(rc == 0, "systemd-analyze security (exit %d):\n%.2000s", rc, err);
  const char *line = strstr(out, "Overall exposure level for shmbufd.service: ");
  ck_assert_msg(line != NULL, "no overall exposure level in:\n%.2000s", out);
  double score = strtod(line + strlen("Overall exposure level for shmbufd.service: "), NULL);
  if (score > most)
    fputs(out, stderr); /* the whole table is longer than a Check message may be */
  ck_assert_msg(score <= most, "%s service: exposure %.1f > %.1f (the table is on stderr)",
                user ? "user" : "system", score, most);
}
END_TEST

/* Every man page a unit points to is one the build makes (or ships) and installs. */
START_TEST(documented_man_pages_exist) {
  static char text[OUT_CAP];
  const char *units[] = {"systemd/shmbufd.socket", "systemd/shmbufd.service",
                         "systemd/user/shmbufd.socket", "systemd/user/shmbufd.service"};
  const char *srcdir = getenv("srcdir") ? getenv("srcdir") : ".";
  int pages = 0;
  for (size_t u = 0; u < sizeof units / sizeof *units; u++) {
    read_file(units[u], text, sizeof text);
    for (const char *p = text; (p = strstr(p, "man:")); p++) {
      char name[64], section[8], path[PATH_MAX], page[4096];
      ck_assert_int_eq(sscanf(p, "man:%63[^(](%7[^)])", name, section), 2);
      snprintf(path, sizeof path, "man/%s.%s", name, section);
      if (access(path, R_OK) != 0)
        snprintf(path, sizeof path, "%s/man/%s.%s", srcdir, name, section);
      read_file(path, page, sizeof page);
      char th[96];
      snprintf(th, sizeof th, ".TH %s %s ", name, section);
      for (char *c = th + 4; *c != ' '; c++)
        *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
      const char *first = page; /* the first line that is not a comment */
      while (strncmp(first, ".\\\"", 3) == 0 && strchr(first, '\n'))
        first = strchr(first, '\n') + 1;
      ck_assert_msg(strncmp(first, th, strlen(th)) == 0, "%s does not start with %s", path, th);
      pages++;
    }
  }
  ck_assert_int_ge(pages, 8);
}
END_TEST

START_TEST(sysusers_makes_user_and_group) {
  char tool[PATH_MAX], root[96], etc[128], file[160], conf[PATH_MAX], cwd[PATH_MAX - 64];
  static char out[OUT_CAP], err[OUT_CAP];
  snprintf(root, sizeof root, "--root=%s", W.dir);
  ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd)); /* with --root, a relative path is the root's */
  snprintf(conf, sizeof conf, "%s/systemd/sysusers.d/shmbuf.conf", cwd);
  snprintf(etc, sizeof etc, "%s/etc", W.dir);
  ck_assert_int_eq(mkdir(etc, 0755), 0);
  const char *argv[] = {which("systemd-sysusers", tool, sizeof tool), root, conf, NULL};
  int rc = sbt_run(argv, NULL, out, sizeof out, err, sizeof err);
  ck_assert_msg(rc == 0, "systemd-sysusers (exit %d): %s", rc, err);
  snprintf(file, sizeof file, "%s/passwd", etc);
  read_file(file, out, sizeof out);
  unsigned uid, gid, group_gid;
  char shell[64];
  ck_assert_msg(sscanf(out, "shmbuf:x:%u:%u:%*[^:]:/:%63s", &uid, &gid, shell) == 3,
                "passwd: %s", out);
  ck_assert_uint_lt(uid, 1000); /* a system user */
  ck_assert_str_eq(shell, "/usr/sbin/nologin");
  snprintf(file, sizeof file, "%s/group", etc);
  read_file(file, out, sizeof out);
  ck_assert_msg(sscanf(out, "shmbuf:x:%u:", &group_gid) == 1, "group: %s", out);
  ck_assert_uint_eq(group_gid, gid);
}
END_TEST

/* The sample settings name every key the daemon has, and load without a warning when every
 * line is uncommented: its values are the defaults. */
START_TEST(sample_settings_cover_every_key) {
  static char help[OUT_CAP], err[OUT_CAP], sample[OUT_CAP], conf[OUT_CAP];
  const char *argv[] = {shmbufd_path(), "--help", NULL};
  ck_assert_int_eq(sbt_run(argv, NULL, help, sizeof help, err, sizeof err), 0);
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/systemd/shmbufd.conf",
           getenv("srcdir") ? getenv("srcdir") : ".");
  read_file(path, sample, sizeof sample);
  int keys = 0;
  for (char *p = help; (p = strstr(p, "--")); p += 2) {
    char flag[64], line[80];
    if (sscanf(p, "--%63[a-z-]", flag) != 1 || strcmp(flag, "config") == 0 ||
        strcmp(flag, "check-config") == 0 || strcmp(flag, "help") == 0 ||
        strcmp(flag, "version") == 0)
      continue;
    for (char *c = flag; *c; c++)
      *c = *c == '-' ? '_' : *c;
    snprintf(line, sizeof line, "\n#%s =", flag);
    ck_assert_msg(strstr(sample, line) != NULL, "the sample lacks %s", flag);
    keys++;
  }
  ck_assert_int_ge(keys, 13);
  /* uncomment the "#key = value" lines, keep the prose */
  size_t o = 0;
  for (char *line = sample, *next; *line; line = next) {
    next = strchr(line, '\n');
    next = next ? next + 1 : line + strlen(line);
    size_t key = line[0] == '#' ? strspn(line + 1, "abcdefghijklmnopqrstuvwxyz_") : 0;
    int skip = key > 0 && strncmp(line + 1 + key, " =", 2) == 0;
    o += (size_t)snprintf(conf + o, sizeof conf - o, "%.*s", (int)(next - line) - skip,
                          line + skip);
  }
  write_file(W.conf, conf);
  const char *args[] = {"--config", W.conf, NULL};
  start(NULL, args);
  shmbuf_client *c = client();
  ck_assert_uint_eq(shmbuf_pool_size(c), 8192);
  shmbuf_close(c);
  ck_assert_int_eq(stop_with(SIGTERM), 0);
  read_file(W.log, err, sizeof err);
  ck_assert_msg(strstr(err, "<4>") == NULL && strstr(err, "<3>") == NULL,
                "warnings with the sample settings:\n%.2000s", err);
}
END_TEST

/* ---- socket activation ------------------------------------------------------------------ */

/* systemd-socket-activate with the listen options in pre, forwarding NOTIFY_SOCKET and the
 * sanitizers' settings, running the daemon (which is told another socket path, so that a
 * daemon that ignored LISTEN_FDS would be seen binding it). */
static void activate(const char *const *pre, const char *own_sock) {
  static char tool[PATH_MAX], notify[160];
  const char *argv[40];
  size_t n = 0;
  argv[n++] = which("systemd-socket-activate", tool, sizeof tool);
  for (size_t i = 0; pre[i]; i++)
    argv[n++] = pre[i];
  snprintf(notify, sizeof notify, "NOTIFY_SOCKET=%s", W.notify);
  argv[n++] = "-E";
  argv[n++] = notify;
  static const char *const pass[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
  for (size_t i = 0; i < 3; i++)
    if (getenv(pass[i])) {
      argv[n++] = "-E";
      argv[n++] = pass[i];
    }
  const char *tail[] = {shmbufd_path(), "--socket", own_sock, "--config", "/dev/null",
                        "--log-level", "info", NULL};
  for (size_t i = 0; tail[i]; i++)
    argv[n++] = tail[i];
  argv[n] = NULL;
  const char *env[] = {"LISTEN_FDS", "LISTEN_PID", "WATCHDOG_USEC", NULL};
  W.pid = sbt_spawn(argv, env, W.log);
}

/* Connects (type SOCK_STREAM) or sends one datagram (SOCK_DGRAM) to path once
 * systemd-socket-activate has bound it, which wakes it up. Returns the connected fd or -1. */
static int knock(const char *path, int type) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
  for (int waited = 0; waited < 10000; waited += 5) {
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    if (type == SOCK_DGRAM && sendto(fd, "x", 1, 0, (struct sockaddr *)&a, sizeof a) == 1) {
      close(fd);
      return -1;
    }
    if (type == SOCK_STREAM && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
      return fd;
    close(fd);
    ck_assert_msg(waitpid(W.pid, NULL, WNOHANG) == 0, "systemd-socket-activate ended early");
    sleep_ms(5);
  }
  ck_abort_msg("nothing listens on %s", path);
  return -1;
}

START_TEST(serves_through_the_inherited_socket) {
  char own[160], m[1024];
  snprintf(own, sizeof own, "%s/own.sock", W.dir);
  const char *pre[] = {"-l", W.sock, NULL};
  activate(pre, own);
  close(knock(W.sock, SOCK_STREAM)); /* the first connection starts the daemon */
  note_wait("READY=1", m, sizeof m, 10000);
  ck_assert_msg(strstr(m, W.sock) != NULL, "the status does not name the socket: %s", m);
  shmbuf_client *c = client(), *c2 = client();
  shmbuf_buf *b, *b2;
  char *text;
  ck_assert_int_eq(shmbuf_from_string(c, "abcd", SHMBUF_CSTR, NULL, &b), 0);
  ck_assert_int_eq(shmbuf_inspect(b, &text), 0);
  ck_assert_str_eq(text, "<Buffer 61 62 63 64>");
  shmbuf_free(text);
  ck_assert_uint_eq(shmbuf_buffer_byte_length(b), 8192);
  ck_assert_int_eq(shmbuf_alloc(c2, 3, &b2), 0);
  ck_assert_uint_eq(shmbuf_buffer_byte_length(b2), 3);
  shmbuf_close(c);
  shmbuf_close(c2);
  ck_assert_msg(access(own, F_OK) != 0, "the daemon bound its own socket too");
  ck_assert_int_eq(stop_with(SIGTERM), 0);
  /* The socket file is systemd's (RemoveOnStop= decides its fate), not the daemon's. */
  ck_assert_msg(access(W.sock, F_OK) == 0, "the daemon removed the socket systemd passed");
  char line[256];
  snprintf(line, sizeof line, "<5>shmbufd " PACKAGE_VERSION " serving on %s ", W.sock);
  assert_log_has(line);
}
END_TEST

START_TEST(two_sockets_are_a_startup_error) {
  char own[160], other[160];
  snprintf(own, sizeof own, "%s/own.sock", W.dir);
  snprintf(other, sizeof other, "%s/other.sock", W.dir);
  const char *pre[] = {"-l", W.sock, "-l", other, NULL};
  activate(pre, own);
  int fd = knock(W.sock, SOCK_STREAM);
  ck_assert_int_eq(sbt_wait(W.pid, 15000), 1);
  W.pid = 0;
  close(fd);
  assert_log_has("<3>systemd passed 2 sockets; shmbufd takes exactly one Unix stream socket\n");
  notes_lack("READY=1");
  ck_assert_msg(access(own, F_OK) != 0, "the daemon bound its own socket instead");
}
END_TEST

START_TEST(a_datagram_socket_is_a_startup_error) {
  char own[160];
  snprintf(own, sizeof own, "%s/own.sock", W.dir);
  const char *pre[] = {"--datagram", "-l", W.sock, NULL};
  activate(pre, own);
  knock(W.sock, SOCK_DGRAM);
  ck_assert_int_eq(sbt_wait(W.pid, 15000), 1);
  W.pid = 0;
  assert_log_has("<3>the socket systemd passed (fd 3) is not a stream socket; shmbufd takes one "
                 "listening Unix stream socket\n");
  notes_lack("READY=1");
  ck_assert_msg(access(own, F_OK) != 0, "the daemon bound its own socket instead");
}
END_TEST

/* ---- notifications, reloads, logs ------------------------------------------------------- */

/* READY=1 first (start() checks), then pings, then STOPPING=1 only after SIGTERM, and no ping
 * after it. The period is checked in the log rather than by the clock, which a loaded machine
 * bends. */
START_TEST(ready_watchdog_stopping_in_order) {
  const char *env[] = {"WATCHDOG_USEC=200000", NULL};
  char m[1024];
  start(env, NULL);
  for (int i = 0; i < 3; i++) {
    ck_assert_msg(note_next(m, sizeof m, 5000), "no watchdog ping %d", i + 1);
    ck_assert_msg(strcmp(m, "WATCHDOG=1") == 0, "expected WATCHDOG=1, got %s", m);
  }
  ck_assert_int_eq(kill(W.pid, SIGTERM), 0);
  for (;;) {
    ck_assert_msg(note_next(m, sizeof m, 10000), "no STOPPING=1");
    if (has_line(m, "STOPPING=1"))
      break;
    ck_assert_msg(strcmp(m, "WATCHDOG=1") == 0, "before STOPPING=1: %s", m);
  }
  ck_assert_int_eq(sbt_wait(W.pid, 15000), 0);
  W.pid = 0;
  notes_lack("WATCHDOG=1");
  notes_lack("READY=1");
  assert_log_has("<6>watchdog: pinging every 100 ms\n");
}
END_TEST

/* STATUS= follows the counters, but no more often than every five seconds (the daemon's timer
 * starts after READY=1, and timers never fire early, so the lower bound is safe). */
START_TEST(status_follows_the_counters_unhurried) {
  char m[1024];
  start(NULL, NULL);
  double ready = now_ms();
  shmbuf_client *c;
  shmbuf_buf *b;
  ck_assert_int_eq(shmbuf_connect_ex(W.sock, SHMBUF_THIN, &c), 0); /* the daemon makes b itself */
  ck_assert_int_eq(shmbuf_alloc(c, 100, &b), 0);
  note_wait_for("STATUS=1 connections, 1 buffers, 100 bytes in 1 slabs, ", false, m, sizeof m,
                15000);
  double waited = now_ms() - ready;
  ck_assert_msg(waited >= 4000, "a status update %.0f ms after READY=1", waited);
  shmbuf_close(c);
  ck_assert_int_eq(stop_with(SIGTERM), 0);
}
END_TEST

START_TEST(reload_changes_what_clients_see) {
  write_file(W.conf, "connection_max_bytes = 0\nuser_max_bytes = 0\nmax_memory = 64M\n");
  const char *args[] = {"--config", W.conf, NULL};
  start(NULL, args);
  shmbuf_client *c = client();
  ck_assert_uint_eq(shmbuf_pool_size(c), 8192);
  ck_assert_int_eq(try_alloc(c, 4 << 20), 0);

  write_file(W.conf, "connection_max_bytes = 0\nuser_max_bytes = 0\nmax_memory = 1M\npool_size = 16K\n");
  reload();
  ck_assert_int_eq(try_alloc(c, 4 << 20), -ENOMEM);
  shmbuf_client *c2 = client();
  ck_assert_uint_eq(shmbuf_pool_size(c2), 16384); /* new connections get the new pool size */
  ck_assert_uint_eq(shmbuf_pool_size(c), 8192);   /* old ones keep theirs */
  assert_log_has("<5>reload: max_memory changed from 67108864 to 1048576\n");
  assert_log_has("<5>reload: pool_size changed from 8192 to 16384\n");

  /* a setting that takes a restart is reported and left alone */
  write_file(W.conf, "connection_max_bytes = 0\nuser_max_bytes = 0\nmax_memory = 1M\npool_size = 16K\nsocket_mode = 0600\n");
  reload();
  struct stat st;
  ck_assert_int_eq(stat(W.sock, &st), 0);
  ck_assert_uint_eq(st.st_mode & 0777, 0660);
  assert_log_has("<4>reload: socket_mode changed from 0660 to 0600, which takes a restart; "
                 "still using 0660\n");

  shmbuf_close(c);
  shmbuf_close(c2);
  ck_assert_int_eq(stop_with(SIGTERM), 0);
}
END_TEST

START_TEST(invalid_value_keeps_the_old_one) {
  write_file(W.conf, "connection_max_bytes = 0\nuser_max_bytes = 0\nmax_memory = 1M\n");
  const char *args[] = {"--config", W.conf, NULL};
  start(NULL, args);
  shmbuf_client *c = client();
  ck_assert_int_eq(try_alloc(c, 4 << 20), -ENOMEM);

  write_file(W.conf, "connection_max_bytes = 0\nuser_max_bytes = 0\nmax_memory = lots\npool_size = 32K\n");
  reload();
  char warning[256];
  snprintf(warning, sizeof warning,
           "<4>%s:3: invalid value \"lots\" for max_memory (expected a size such as 4096, 64K "
           "or 16M, or auto); keeping the current setting\n",
           W.conf);
  assert_log_has(warning);
  ck_assert_int_eq(try_alloc(c, 4 << 20), -ENOMEM); /* still 1M, not the default */
  shmbuf_client *c2 = client();
  ck_assert_uint_eq(shmbuf_pool_size(c2), 32768); /* the valid line still applies */
  shmbuf_close(c2);

  /* and the failures above were the cap's: without it the same request succeeds */
  write_file(W.conf, "pool_size = 32K\n");
  reload();
  ck_assert_int_eq(try_alloc(c, 4 << 20), 0);
  shmbuf_close(c);
  ck_assert_int_eq(stop_with(SIGTERM), 0);
}
END_TEST

/* A raw connection to the daemon, greeted. */
static int raw_greeted(void) {
  sbt_daemon d = {0};
  snprintf(d.sock, sizeof d.sock, "%s", W.sock);
  int fd = sbt_connect(&d);
  sbt_hello(fd);
  return fd;
}

/* The watchdog is fed on time while one client has 30 copies of 256 MiB queued, 7.5 GiB of
 * work: the loop does bulk work a slice at a time, never a whole queue of copies at once. */
START_TEST(watchdog_is_fed_through_heavy_copies) {
  const char *env[] = {"WATCHDOG_USEC=1000000", NULL}; /* a ping every 500 ms */
  const char *args[] = {"--connection-max-bytes", "0", NULL};
  char m[1024];
  start(env, args);
  int fd = raw_greeted();
  req r;
  Shmbufwire__Reply *src = sbt_call(
      fd, req_sized(&r, 2, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW, 256 << 20), NULL, NULL);
  ck_assert_int_eq(src->result_case, SHMBUFWIRE__REPLY__RESULT_BUFFER);
  uint64_t src_id = src->buffer->buffer;
  shmbufwire__reply__free_unpacked(src, NULL);
  sb_bytes out = {0};
  enum { COPIES = 30 };
  for (uint64_t i = 0; i < COPIES; i++) { /* each copy released after it is made */
    ck_assert_int_eq(req_append(&out, req_from_buffer(&r, 10 + 2 * i, src_id)), 0);
    ck_assert_int_eq(req_append(&out, req_release(&r, 11 + 2 * i, req_predicted_id(1, i + 1))), 0);
  }
  note_wait("WATCHDOG=1", m, sizeof m, 5000); /* the gaps are measured from a ping */
  double started = now_ms(), last = started, longest = 0;
  int pings = 0, replies = 0;
  sbt_write(fd, sb_bytes_head(&out), out.len);
  sb_bytes_free(&out);
  while (replies < 2 * COPIES) {
    struct pollfd p[2] = {{W.nfd, POLLIN, 0}, {fd, POLLIN, 0}};
    ck_assert_msg(poll(p, 2, 60000) > 0, "nothing within 60 s, after %d replies", replies);
    if (p[0].revents && note_next(m, sizeof m, 0) && has_line(m, "WATCHDOG=1")) {
      double t = now_ms();
      longest = t - last > longest ? t - last : longest;
      last = t;
      pings++;
    }
    if (p[1].revents) {
      Shmbufwire__Reply *rep = sbt_recv(fd, NULL, NULL, 20000);
      ck_assert_ptr_nonnull(rep);
      ck_assert_int_eq(rep->result_case, replies % 2 ? SHMBUFWIRE__REPLY__RESULT_RELEASED
                                                     : SHMBUFWIRE__REPLY__RESULT_BUFFER);
      shmbufwire__reply__free_unpacked(rep, NULL);
      replies++;
    }
  }
  double took = now_ms() - started;
  longest = now_ms() - last > longest ? now_ms() - last : longest;
  printf("# %d copies of 256 MiB took %.0f ms: %d watchdog pings, at most %.0f ms apart\n", COPIES,
         took, pings, longest);
  /* systemd would kill a service that has not pinged for WATCHDOG_USEC */
  ck_assert_msg(longest < 1000, "no watchdog ping for %.0f ms", longest);
  close(fd);
  ck_assert_int_eq(stop_with(SIGTERM), 0);
}
END_TEST

/* A reload looks up user and group names, which NSS may take seconds to answer: it does that
 * off the loop, which answers another client's stats meanwhile. getgrnam() is made slow by a
 * test-only preload (tests/slow_nss.c); ASan, when the daemon has it, must accept a preload
 * that comes before its runtime. */
START_TEST(reload_does_not_wait_for_nss_on_the_loop) {
  enum { NSS_MS = 3000 };
  const char *preload = getenv("SHMBUF_SLOW_NSS");
  ck_assert_msg(preload && access(preload, R_OK) == 0, "no test preload at %s",
                preload ? preload : "$SHMBUF_SLOW_NSS");
  char ld[PATH_MAX + 16], asan[512], slow[64];
  snprintf(ld, sizeof ld, "LD_PRELOAD=%s", preload);
  const char *asan_was = getenv("ASAN_OPTIONS");
  snprintf(asan, sizeof asan, "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
           asan_was ? asan_was : "", asan_was && *asan_was ? ":" : "");
  snprintf(slow, sizeof slow, "SHMBUF_SLOW_NSS_MS=%d", NSS_MS);
  const char *env[] = {ld, asan, slow, NULL};
  write_file(W.conf, "pool_size = 8K\n"); /* no names: starting looks nothing up */
  const char *args[] = {"--config", W.conf, NULL};
  start(env, args);
  shmbuf_client *c = client();

  write_file(W.conf, "pool_size = 8K\nallow_groups = root\n");
  char m[1024];
  double hup = now_ms();
  ck_assert_int_eq(kill(W.pid, SIGHUP), 0);
  note_wait("RELOADING=1", m, sizeof m, 10000);
  double asked = now_ms();
  shmbuf_stats *k;
  ck_assert_int_eq(shmbuf_stats_get(c, &k), 0);
  shmbuf_stats_free(k);
  double answered = now_ms();
  note_wait("READY=1", m, sizeof m, 10000 + NSS_MS);
  double reloaded = now_ms();
  printf("# a reload waiting %d ms on getgrnam(): stats answered in %.0f ms, reload done after "
         "%.0f ms\n", NSS_MS, answered - asked, reloaded - hup);
  /* the lookup really was slow, and the loop did not wait for it */
  ck_assert_msg(reloaded - hup >= NSS_MS, "the reload took %.0f ms", reloaded - hup);
  ck_assert_msg(answered < reloaded - NSS_MS / 2,
                "stats were answered %.0f ms after SIGHUP, the reload done at %.0f ms",
                answered - hup, reloaded - hup);
  assert_log_has("<5>reload: allow_groups changed from (anyone) to 0\n");
  shmbuf_close(c);
  ck_assert_int_eq(stop_with(SIGTERM), 0);
}
END_TEST

/* Every line starts with an sd-daemon priority, at the right level, and has no timestamp
 * (journald adds its own). */
START_TEST(log_lines_carry_priorities) {
  write_file(W.conf, "no_such_key = 1\n");
  const char *args[] = {"--config", W.conf, NULL};
  const char *env[] = {"WATCHDOG_USEC=10000000", NULL};
  start(env, args);
  ck_assert_int_eq(stop_with(SIGINT), 0);
  const char *bad[] = {shmbufd_path(), "--config", "/nonexistent/shmbufd.conf", NULL};
  W.pid = sbt_spawn(bad, NULL, W.log);
  ck_assert_int_eq(sbt_wait(W.pid, 15000), 1);
  W.pid = 0;

  static char log[OUT_CAP];
  read_file(W.log, log, sizeof log);
  regex_t prio, stamp;
  ck_assert_int_eq(regcomp(&prio, "^<[3-7]>[^<[:space:]]", REG_EXTENDED | REG_NOSUB), 0);
  ck_assert_int_eq(regcomp(&stamp, "[0-9]:[0-5][0-9]|[0-9]{4}-[01][0-9]-[0-3][0-9]",
                           REG_EXTENDED | REG_NOSUB), 0);
  int lines = 0;
  for (char *line = log, *nl; *line; line = nl + 1, lines++) {
    nl = strchr(line, '\n');
    ck_assert_msg(nl != NULL, "an unterminated line: %s", line);
    *nl = '\0';
    ck_assert_msg(regexec(&prio, line, 0, NULL, 0) == 0, "no priority prefix: %s", line);
    ck_assert_msg(regexec(&stamp, line, 0, NULL, 0) != 0, "a timestamp: %s", line);
    *nl = '\n';
  }
  regfree(&prio);
  regfree(&stamp);
  ck_assert_int_ge(lines, 5);
  char warn[256];
  snprintf(warn, sizeof warn, "<4>%s:1: unknown key \"no_such_key\"; ignored\n", W.conf);
  assert_log_has(warn);
  assert_log_has("<6>watchdog: pinging every 5000 ms\n");
  assert_log_has("<5>SIGINT: stopping\n");
  assert_log_has("<5>stopped\n");
  assert_log_has("<3>cannot read /nonexistent/shmbufd.conf: No such file or directory\n");
}
END_TEST

static Suite *systemd_suite(void) {
  Suite *s = suite_create("systemd");
  TCase *t = tcase_create("units");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_set_timeout(t, 60);
  tcase_add_test(t, system_units_say_what_they_must);
  tcase_add_test(t, user_units_say_what_they_must);
  tcase_add_test(t, user_service_has_what_the_system_one_has);
  tcase_add_loop_test(t, verify_prints_nothing, 0, 2);
  tcase_add_loop_test(t, security_exposure_is_low, 0, 2);
  tcase_add_test(t, documented_man_pages_exist);
  tcase_add_test(t, sysusers_makes_user_and_group);
  tcase_add_test(t, sample_settings_cover_every_key);
  suite_add_tcase(s, t);
  t = tcase_create("activation");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_set_timeout(t, 60);
  tcase_add_test(t, serves_through_the_inherited_socket);
  tcase_add_test(t, two_sockets_are_a_startup_error);
  tcase_add_test(t, a_datagram_socket_is_a_startup_error);
  suite_add_tcase(s, t);
  t = tcase_create("notify");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_set_timeout(t, 60);
  tcase_add_test(t, ready_watchdog_stopping_in_order);
  tcase_add_test(t, status_follows_the_counters_unhurried);
  tcase_add_test(t, reload_changes_what_clients_see);
  tcase_add_test(t, invalid_value_keeps_the_old_one);
  tcase_add_test(t, log_lines_carry_priorities);
  tcase_add_test(t, watchdog_is_fed_through_heavy_copies);
  tcase_add_test(t, reload_does_not_wait_for_nss_on_the_loop);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(systemd_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
