/*
 * The benchmark's process runner: runs each requested command with posix_spawn (no fork of the
 * caller's address space) and reports its wall time (spawn to reap, CLOCK_MONOTONIC), exit
 * status, peak RSS (ru_maxrss of wait4: the process and every process it waited for), stdout
 * and stderr.
 *
 * Why: the benchmark's own node process grows to hundreds of MB while it builds and runs, and
 * node's child_process forks; a fork copies the page tables, which added 5-16 ms to every timed
 * call there (more than Go's whole VERSION). This process stays small, so what is timed is the
 * plugin, not the harness.
 *
 *   runner <request fifo or -> <response fifo or ->     ("-": stdin / stdout)
 *
 * Frames (little endian). Request: u32 length of the rest, u32 id, u32 timeout ms, u32 argc,
 * argc strings, u32 envc, envc strings ("K=V"), one string of stdin bytes; a string is u32 length
 * + bytes. Response: u32 length of the rest, u32 id, i32 exit code (-1 when signalled or not
 * started), i32 signal, u32 timed out, f64 ms, i64 max RSS KB, i32 errno of a failed spawn,
 * stdout string, stderr string. Requests run concurrently; each response is written when its
 * command has exited and closed its stdout and stderr. EOF on the request side: the runner
 * finishes what runs and exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_JOBS 256

struct buf {
  char *p;
  size_t len, cap;
};

struct job {
  int used;
  uint32_t id;
  pid_t pid;
  int pidfd, in_fd, out_fd, err_fd;
  struct buf in, out, err;
  size_t in_off;
  double t0, deadline;
  int exited, status, timed_out, spawn_errno;
  double ms;
  long maxrss;
};

static struct job jobs[MAX_JOBS];
static int req_fd, resp_fd;
static struct buf req;
static int req_eof;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what) {
  static const char prefix[] = "bench runner: ";
  (void)!write(2, prefix, sizeof prefix - 1);
  (void)!write(2, what, strlen(what));
  (void)!write(2, "\n", 1);
  exit(2);
}

static void put(struct buf *b, const void *p, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    b->p = realloc(b->p, cap);
    if (!b->p) die("out of memory");
    b->cap = cap;
  }
  memcpy(b->p + b->len, p, n);
  b->len += n;
}

static void drop(struct buf *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("cannot write a response");
    }
    p += w;
    n -= (size_t)w;
  }
}

static uint32_t rd32(const char *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* Parses a string at *off of frame f (length n) into a NUL-terminated copy. */
static char *take_string(const char *f, size_t n, size_t *off, uint32_t *len_out) {
  if (*off + 4 > n) die("truncated request");
  uint32_t len = rd32(f + *off);
  *off += 4;
  if (*off + len > n) die("truncated request");
  char *s = malloc(len + 1);
  if (!s) die("out of memory");
  memcpy(s, f + *off, len);
  s[len] = 0;
  *off += len;
  if (len_out) *len_out = len;
  return s;
}

static void set_nonblock(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void respond(struct job *j) {
  struct buf r = {0};
  uint32_t zero = 0;
  put(&r, &zero, 4);
  put(&r, &j->id, 4);
  int32_t code = -1, sig = 0;
  if (j->spawn_errno == 0 && WIFEXITED(j->status)) code = WEXITSTATUS(j->status);
  if (j->spawn_errno == 0 && WIFSIGNALED(j->status)) sig = WTERMSIG(j->status);
  uint32_t timed_out = (uint32_t)j->timed_out;
  int64_t rss = j->maxrss;
  int32_t err = j->spawn_errno;
  put(&r, &code, 4);
  put(&r, &sig, 4);
  put(&r, &timed_out, 4);
  put(&r, &j->ms, 8);
  put(&r, &rss, 8);
  put(&r, &err, 4);
  uint32_t n = (uint32_t)j->out.len;
  put(&r, &n, 4);
  if (n) put(&r, j->out.p, n);
  n = (uint32_t)j->err.len;
  put(&r, &n, 4);
  if (n) put(&r, j->err.p, n);
  uint32_t total = (uint32_t)(r.len - 4);
  memcpy(r.p, &total, 4);
  write_all(resp_fd, r.p, r.len);
  drop(&r);
  drop(&j->in);
  drop(&j->out);
  drop(&j->err);
  j->used = 0;
}

static void start(const char *f, size_t n) {
  struct job *j = NULL;
  for (int i = 0; i < MAX_JOBS; i++)
    if (!jobs[i].used) {
      j = &jobs[i];
      break;
    }
  if (!j) die("too many jobs at once");
  memset(j, 0, sizeof *j);
  j->used = 1;
  j->pidfd = j->in_fd = j->out_fd = j->err_fd = -1;
  size_t off = 0;
  if (n < 12) die("truncated request");
  j->id = rd32(f);
  uint32_t timeout = rd32(f + 4);
  uint32_t argc = rd32(f + 8);
  off = 12;
  char **argv = calloc(argc + 1, sizeof *argv);
  for (uint32_t i = 0; i < argc; i++) argv[i] = take_string(f, n, &off, NULL);
  if (off + 4 > n) die("truncated request");
  uint32_t envc = rd32(f + off);
  off += 4;
  char **envp = calloc(envc + 1, sizeof *envp);
  for (uint32_t i = 0; i < envc; i++) envp[i] = take_string(f, n, &off, NULL);
  uint32_t in_len;
  char *in = take_string(f, n, &off, &in_len);
  put(&j->in, in, in_len);
  free(in);

  int pin[2], pout[2], perr[2];
  if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC) || pipe2(perr, O_CLOEXEC)) die("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
  posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
  posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t dfl;
  sigemptyset(&dfl);
  sigaddset(&dfl, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &dfl);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  j->t0 = now_ms();
  j->deadline = j->t0 + (timeout ? timeout : 60000);
  int rc = posix_spawnp(&j->pid, argv[0], &fa, &attr, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(pin[0]);
  close(pout[1]);
  close(perr[1]);
  for (uint32_t i = 0; i < argc; i++) free(argv[i]);
  free(argv);
  for (uint32_t i = 0; i < envc; i++) free(envp[i]);
  free(envp);
  if (rc != 0) {
    close(pin[1]);
    close(pout[0]);
    close(perr[0]);
    j->spawn_errno = rc;
    j->ms = now_ms() - j->t0;
    respond(j);
    return;
  }
  j->pidfd = (int)syscall(SYS_pidfd_open, j->pid, 0);
  if (j->pidfd < 0) die("pidfd_open failed");
  j->in_fd = pin[1];
  j->out_fd = pout[0];
  j->err_fd = perr[0];
  set_nonblock(j->in_fd);
  set_nonblock(j->out_fd);
  set_nonblock(j->err_fd);
  if (j->in.len == 0) {
    close(j->in_fd);
    j->in_fd = -1;
  }
}

static void read_into(int *fd, struct buf *b) {
  char tmp[65536];
  for (;;) {
    ssize_t r = read(*fd, tmp, sizeof tmp);
    if (r > 0) {
      put(b, tmp, (size_t)r);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) return;
    close(*fd);
    *fd = -1;
    return;
  }
}

static void reap(struct job *j) {
  struct rusage ru;
  int status;
  pid_t r = wait4(j->pid, &status, WNOHANG, &ru);
  if (r == j->pid) {
    j->exited = 1;
    j->status = status;
    j->maxrss = ru.ru_maxrss;
    close(j->pidfd);
    j->pidfd = -1;
  }
}

static void maybe_finish(struct job *j) {
  if (j->exited && j->out_fd < 0 && j->err_fd < 0) {
    if (j->in_fd >= 0) close(j->in_fd);
    j->in_fd = -1;
    j->ms = now_ms() - j->t0; /* done: exited and its output closed, as spawnSync returns */
    respond(j);
  }
}

static void read_requests(void) {
  char tmp[65536];
  ssize_t r = read(req_fd, tmp, sizeof tmp);
  if (r < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (r <= 0) {
    req_eof = 1;
    return;
  }
  put(&req, tmp, (size_t)r);
  size_t off = 0;
  while (req.len - off >= 4) {
    uint32_t n = rd32(req.p + off);
    if (req.len - off - 4 < n) break;
    start(req.p + off + 4, n);
    off += 4 + n;
  }
  memmove(req.p, req.p + off, req.len - off);
  req.len -= off;
}

int main(int argc, char **argv) {
  if (argc != 3) die("usage: runner <request fifo|-> <response fifo|->");
  signal(SIGPIPE, SIG_IGN);
  req_fd = strcmp(argv[1], "-") ? open(argv[1], O_RDONLY | O_CLOEXEC) : 0;
  if (req_fd < 0) die("cannot open the request fifo");
  resp_fd = strcmp(argv[2], "-") ? open(argv[2], O_WRONLY | O_CLOEXEC) : 1;
  if (resp_fd < 0) die("cannot open the response fifo");
  for (;;) {
    struct pollfd pfd[1 + MAX_JOBS * 4];
    struct job *owner[1 + MAX_JOBS * 4];
    int kind[1 + MAX_JOBS * 4];
    int n = 0, active = 0;
    if (!req_eof) {
      pfd[n] = (struct pollfd){.fd = req_fd, .events = POLLIN};
      owner[n] = NULL;
      kind[n++] = 0;
    }
    double t = now_ms(), wait = -1;
    for (int i = 0; i < MAX_JOBS; i++) {
      struct job *j = &jobs[i];
      if (!j->used) continue;
      active++;
      if (!j->exited && t >= j->deadline && !j->timed_out) {
        j->timed_out = 1;
        kill(j->pid, SIGKILL);
      }
      if (!j->exited) {
        double left = j->deadline - t;
        if (left < 0) left = 0;
        if (wait < 0 || left < wait) wait = left;
      }
      if (j->pidfd >= 0) pfd[n] = (struct pollfd){.fd = j->pidfd, .events = POLLIN}, owner[n] = j, kind[n++] = 1;
      if (j->in_fd >= 0) pfd[n] = (struct pollfd){.fd = j->in_fd, .events = POLLOUT}, owner[n] = j, kind[n++] = 2;
      if (j->out_fd >= 0) pfd[n] = (struct pollfd){.fd = j->out_fd, .events = POLLIN}, owner[n] = j, kind[n++] = 3;
      if (j->err_fd >= 0) pfd[n] = (struct pollfd){.fd = j->err_fd, .events = POLLIN}, owner[n] = j, kind[n++] = 4;
    }
    if (req_eof && active == 0) return 0;
    int timeout = wait < 0 ? -1 : (int)wait + 1;
    if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR) die("poll failed");
    for (int i = 0; i < n; i++) {
      if (!pfd[i].revents) continue;
      struct job *j = owner[i];
      switch (kind[i]) {
        case 0:
          read_requests();
          break;
        case 1:
          reap(j);
          break;
        case 2: {
          ssize_t w = write(j->in_fd, j->in.p + j->in_off, j->in.len - j->in_off);
          if (w > 0) j->in_off += (size_t)w;
          if ((w < 0 && errno != EAGAIN && errno != EINTR) || j->in_off == j->in.len) {
            close(j->in_fd);
            j->in_fd = -1;
          }
          break;
        }
        case 3:
          read_into(&j->out_fd, &j->out);
          break;
        case 4:
          read_into(&j->err_fd, &j->err);
          break;
      }
    }
    for (int i = 0; i < MAX_JOBS; i++)
      if (jobs[i].used) maybe_finish(&jobs[i]);
  }
}
