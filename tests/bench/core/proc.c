/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"

int proc_connect(const char *path) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof a.sun_path)
    return -ENAMETOOLONG;
  memcpy(a.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    int e = -errno;
    close(fd);
    return e;
  }
  return fd;
}

int proc_write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -errno;
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

int proc_read_full(int fd, void *p, size_t n) {
  char *c = p;
  while (n > 0) {
    ssize_t r = read(fd, c, n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return r == 0 ? -EPIPE : -errno;
    c += r;
    n -= (size_t)r;
  }
  return 0;
}

pid_t proc_fork(void (*fn)(void *arg), void *arg) {
  pid_t parent = getpid(), pid = fork();
  if (pid < 0)
    return -errno;
  if (pid == 0) {
    /* a benchmark that dies (Ctrl-C, a crash) takes its servers with it */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
      _exit(1);
    fn(arg);
    _exit(0);
  }
  return pid;
}

typedef struct exec_args {
  char *const *argv;
  const char *log_path;
} exec_args;

static char *const *wrapper;

void proc_wrap(char *const *prefix) { wrapper = prefix; }

static void exec_server(void *arg) {
  const exec_args *a = arg;
  char *argv[64];
  int n = 0;
  for (int i = 0; wrapper && wrapper[i] && n < 32; i++)
    argv[n++] = wrapper[i];
  for (int i = 0; a->argv[i] && n < 63; i++)
    argv[n++] = a->argv[i];
  argv[n] = NULL;
  int log = open(a->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log < 0 || null < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
    _exit(126);
  execvp(argv[0], argv);
  _exit(127);
}

int proc_start(proc_server *s, char *const argv[], const char *socket_path,
               const char *log_path) {
  exec_args a = {argv, log_path};
  *s = (proc_server){0, ""};
  snprintf(s->path, sizeof s->path, "%s", socket_path);
  pid_t pid = proc_fork(exec_server, &a);
  if (pid < 0)
    return (int)pid;
  for (int i = 0; i < 6000; i++) {
    int st, fd = proc_connect(socket_path);
    if (fd >= 0) {
      close(fd);
      s->pid = pid;
      return 0;
    }
    if (waitpid(pid, &st, WNOHANG) == pid)
      return WIFEXITED(st) && WEXITSTATUS(st) == 127 ? -ENOENT : -ECHILD;
    usleep(10000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return -ETIMEDOUT;
}

void proc_stop(proc_server *s) {
  if (s->pid <= 0)
    return;
  kill(s->pid, SIGTERM);
  for (int i = 0; i < 1000; i++) {
    if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
      s->pid = 0;
      return;
    }
    usleep(10000);
  }
  kill(s->pid, SIGKILL);
  waitpid(s->pid, NULL, 0);
  s->pid = 0;
}

long proc_rss_kb(pid_t pid) {
  char path[64], line[256];
  long kb = -1;
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0)
      kb = atol(line + 6);
  fclose(f);
  return kb;
}

int proc_fd_count(pid_t pid) {
  char path[64];
  int n = 0;
  snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  DIR *d = opendir(path);
  if (d == NULL)
    return -1;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

char *proc_first_line(const char *cmd, char *out, size_t cap) {
  char full[1024];
  snprintf(full, sizeof full, "%s 2>/dev/null", cmd);
  FILE *p = popen(full, "r");
  if (p == NULL)
    return NULL;
  char *line = fgets(out, (int)cap, p);
  pclose(p);
  if (line)
    line[strcspn(line, "\n")] = 0;
  return line;
}
