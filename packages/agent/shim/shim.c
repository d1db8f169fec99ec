/*
 * cnikit agent shim: a CNI plugin executable that forwards the call to a warm cnikit-agent
 * daemon over a unix socket, or execs the in-process plugin (the fallback) when there is none.
 *
 * It reads "<its own real path>.agent.json":
 *   {"socket": "/run/cnikit/bridge.sock", "fallback": "../bridge", "timeoutMs": 30000,
 *    "cniVersions": ["0.3.1", "1.0.0", "1.1.0"]}
 * (relative paths are relative to the shim's real directory).
 *
 * Wire protocol v1 (all integers little-endian; see packages/agent/README.md):
 *   request  = "CNKA" u8 version=1, u8 type (1 call, 2 status), u16 0, u32 envLen, u32 stdinLen,
 *              env ("KEY=VALUE\0" entries, CNI_* only), stdin bytes; then the shim half-closes.
 *   response = "CNKA" u8 version=1, u8 type (1 result, 2 status, 3 unsupported version),
 *              u8 exit status, u8 0, u32 stdoutLen, u32 stderrLen, stdout bytes, stderr bytes.
 *
 * - no socket / ENOENT / ECONNREFUSED / stale socket, or a type-3 answer / another version:
 *   execv(fallback) with the same env and stdin (replayed through a memfd when already read);
 * - the daemon closes before a whole response, or the deadline (timeoutMs) passes: CNI error
 *   code 11 on stdout, exit 1, never the fallback (the call may be half applied);
 * - VERSION is answered from cniVersions without a round trip.
 * Built static: gcc -static -Os.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define PROTO_VERSION 1
#define TYPE_CALL 1
#define TYPE_RESULT 1
#define TYPE_SKEW 3
#define MAX_SIDECAR (64 * 1024)
#define MAX_STDIN (64u * 1024 * 1024)
#define MAX_REPLY (64u * 1024 * 1024)

extern char **environ;

/* How cnikit-agent recognises this executable in CNI_PATH (in-process delegation): keep in step
   with SHIM_MARKER in src/delegates.ts. */
__attribute__((used)) static const char shim_marker[] = "cnikit-agent-shim/1";

static char socket_path[PATH_MAX];
static char fallback_path[PATH_MAX];
static long timeout_ms = 30000;
static char versions_json[4096]; /* the cniVersions array as written, "" when absent */
static char deadline_msg[2 * PATH_MAX + 256];
static size_t deadline_len;

/* copies `in` into `out` as the inside of a JSON string */
static const char *json_escape(const char *in, char *out, size_t cap) {
  size_t n = 0;
  for (; *in && n + 7 < cap; in++) {
    unsigned char c = (unsigned char)*in;
    if (c == '"' || c == '\\') {
      out[n++] = '\\';
      out[n++] = (char)c;
    } else if (c < 0x20) {
      n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
    } else {
      out[n++] = (char)c;
    }
  }
  out[n] = 0;
  return out;
}

static void die(const char *msg) {
  /* a shim problem (no sidecar, bad JSON): a CNI error so the runtime shows it */
  char buf[2 * PATH_MAX + 256], esc[2 * PATH_MAX];
  int n = snprintf(buf, sizeof buf, "{\"cniVersion\":\"1.1.0\",\"code\":999,\"msg\":\"cnikit shim: %s\"}\n",
                   json_escape(msg, esc, sizeof esc));
  if (n > 0) (void)!write(1, buf, (size_t)n);
  _exit(1);
}

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;
    }
    p += w;
    n -= (size_t)w;
  }
}

/* code 11 "try again later": the daemon died, closed early or missed the deadline */
static void try_again(const char *why) {
  char buf[2 * PATH_MAX + 256], esc[2 * PATH_MAX];
  int n = snprintf(buf, sizeof buf,
                   "{\"cniVersion\":\"1.1.0\",\"code\":11,\"msg\":\"cnikit-agent %s: try again later\","
                   "\"details\":\"socket %s\"}\n",
                   why, json_escape(socket_path, esc, sizeof esc));
  if (n > 0) write_all(1, buf, (size_t)n);
  _exit(1);
}

static void on_alarm(int sig) {
  (void)sig;
  write_all(1, deadline_msg, deadline_len);
  _exit(1);
}

/* --- a tiny JSON reader for the flat sidecar object --- */
static const char *skip_ws(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
  return p;
}

/* reads a JSON string at p (after the quote) into out; returns the position after the closing quote */
static const char *read_string(const char *p, char *out, size_t cap) {
  size_t n = 0;
  while (*p && *p != '"') {
    char c = *p++;
    if (c == '\\') {
      c = *p++;
      if (c == 'n') c = '\n';
      else if (c == 't') c = '\t';
      else if (c == 'u' || c == 0) return NULL; /* not needed in paths */
    }
    if (n + 1 >= cap) return NULL;
    out[n++] = c;
  }
  if (*p != '"') return NULL;
  out[n] = 0;
  return p + 1;
}

/* skips one JSON value (string, number, literal, array, object); returns the position after it */
static const char *skip_value(const char *p) {
  int depth = 0;
  p = skip_ws(p);
  do {
    if (*p == 0) return NULL;
    if (*p == '"') {
      p++;
      while (*p && *p != '"') p += (*p == '\\' && p[1]) ? 2 : 1;
      if (!*p) return NULL;
      p++;
    } else if (*p == '[' || *p == '{') {
      depth++;
      p++;
    } else if (*p == ']' || *p == '}') {
      if (depth == 0) return NULL;
      depth--;
      p++;
    } else if (depth == 0) {
      while (*p && *p != ',' && *p != '}' && *p != ' ' && *p != '\n' && *p != '\t' && *p != '\r') p++;
    } else {
      p++;
    }
  } while (depth > 0);
  return p;
}

static void resolve_rel(const char *dir, const char *value, char *out) {
  if (value[0] == '/') {
    if (strlen(value) >= PATH_MAX) die("sidecar path too long");
    strcpy(out, value);
  } else if ((size_t)snprintf(out, PATH_MAX, "%s/%s", dir, value) >= PATH_MAX) {
    die("sidecar path too long");
  }
}

static void read_sidecar(const char *self, const char *dir) {
  char path[PATH_MAX + 16];
  snprintf(path, sizeof path, "%s.agent.json", self);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    char msg[PATH_MAX + 96];
    snprintf(msg, sizeof msg, "cannot open the sidecar %s: %s", path, strerror(errno));
    die(msg);
  }
  static char text[MAX_SIDECAR + 1];
  ssize_t len = 0, r;
  while ((r = read(fd, text + len, MAX_SIDECAR - (size_t)len)) > 0) len += r;
  close(fd);
  if (r < 0) die("cannot read the sidecar");
  text[len] = 0;
  const char *p = skip_ws(text);
  if (*p++ != '{') die("the sidecar is not a JSON object");
  char key[64], sval[PATH_MAX];
  for (;;) {
    p = skip_ws(p);
    if (*p == '}') break;
    if (*p++ != '"' || !(p = read_string(p, key, sizeof key))) die("bad sidecar JSON");
    p = skip_ws(p);
    if (*p++ != ':') die("bad sidecar JSON");
    p = skip_ws(p);
    if (!strcmp(key, "socket") || !strcmp(key, "fallback")) {
      if (*p++ != '"' || !(p = read_string(p, sval, sizeof sval))) die("bad sidecar path");
      resolve_rel(dir, sval, key[0] == 's' ? socket_path : fallback_path);
    } else if (!strcmp(key, "timeoutMs")) {
      char *end;
      timeout_ms = strtol(p, &end, 10);
      if (end == p || timeout_ms <= 0) die("bad sidecar timeoutMs");
      p = end;
    } else if (!strcmp(key, "cniVersions")) {
      const char *start = p;
      if (*p != '[' || !(p = skip_value(p))) die("bad sidecar cniVersions");
      if ((size_t)(p - start) >= sizeof versions_json) die("sidecar cniVersions too long");
      /* copied without the whitespace outside strings: the reply is one line */
      size_t n = 0;
      int in_str = 0;
      for (const char *q = start; q < p; q++) {
        if (*q == '"' && (q == start || q[-1] != '\\')) in_str = !in_str;
        if (!in_str && (*q == ' ' || *q == '\n' || *q == '\t' || *q == '\r')) continue;
        versions_json[n++] = *q;
      }
      versions_json[n] = 0;
    } else if (!(p = skip_value(p))) {
      die("bad sidecar JSON");
    }
    p = skip_ws(p);
    if (*p == ',') p++;
  }
  if (!socket_path[0] || !fallback_path[0]) die("the sidecar needs socket and fallback");
  if (strlen(socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) die("socket path too long");
}

static void stop_deadline(void) {
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL); /* timers survive execve */
}

/* execs the in-process plugin with the same argv, env and stdin */
static void fallback(char **argv, const char *stdin_data, size_t stdin_len, int stdin_read) {
  stop_deadline();
  if (stdin_read) {
    int mfd = memfd_create("cnikit-stdin", 0);
    if (mfd < 0) die("memfd_create failed");
    write_all(mfd, stdin_data, stdin_len);
    lseek(mfd, 0, SEEK_SET);
    if (dup2(mfd, 0) < 0) die("dup2 failed");
    close(mfd);
  }
  argv[0] = fallback_path;
  execv(fallback_path, argv);
  char msg[PATH_MAX + 64];
  snprintf(msg, sizeof msg, "cannot exec the fallback %s: %s", fallback_path, strerror(errno));
  die(msg);
}

static int send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* reads exactly n bytes; returns the number read (short at EOF or error) */
static size_t recv_all(int fd, char *p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, p + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  return got;
}

static void put32(char *p, uint32_t v) {
  p[0] = (char)(v & 0xff);
  p[1] = (char)((v >> 8) & 0xff);
  p[2] = (char)((v >> 16) & 0xff);
  p[3] = (char)((v >> 24) & 0xff);
}

static uint32_t get32(const unsigned char *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

int main(int argc, char **argv) {
  (void)argc;
  char self[PATH_MAX];
  ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
  if (sl <= 0) die("cannot read /proc/self/exe");
  self[sl] = 0;
  char dir[PATH_MAX];
  strcpy(dir, self);
  char *slash = strrchr(dir, '/');
  if (slash == dir) dir[1] = 0;
  else if (slash) *slash = 0;
  read_sidecar(self, dir);

  const char *cmd = getenv("CNI_COMMAND");
  int is_version = cmd && !strcmp(cmd, "VERSION");
  if (is_version && versions_json[0]) {
    /* spec: VERSION answers the config's cniVersion; the stdin is not read (cni#485) */
    char buf[4300];
    int n = snprintf(buf, sizeof buf, "{\"cniVersion\":\"1.1.0\",\"supportedVersions\":%s}\n", versions_json);
    write_all(1, buf, (size_t)n);
    return 0;
  }

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fallback(argv, NULL, 0, 0);
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  strcpy(addr.sun_path, socket_path);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    close(fd);
    fallback(argv, NULL, 0, 0); /* no daemon: ENOENT, ECONNREFUSED (stale socket), EACCES */
  }

  char esc[2 * PATH_MAX];
  deadline_len = (size_t)snprintf(deadline_msg, sizeof deadline_msg,
                                  "{\"cniVersion\":\"1.1.0\",\"code\":11,\"msg\":\"cnikit-agent did not answer within "
                                  "%ld ms: try again later\",\"details\":\"socket %s\"}\n",
                                  timeout_ms, json_escape(socket_path, esc, sizeof esc));
  if (deadline_len >= sizeof deadline_msg) deadline_len = sizeof deadline_msg - 1;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 0}, {timeout_ms / 1000, (timeout_ms % 1000) * 1000}};
  setitimer(ITIMER_REAL, &it, NULL);

  /* env: CNI_* only */
  size_t env_len = 0;
  for (char **e = environ; *e; e++)
    if (!strncmp(*e, "CNI_", 4)) env_len += strlen(*e) + 1;
  /* stdin: all of it (not for VERSION) */
  char *in = NULL;
  size_t in_len = 0, in_cap = 0;
  if (!is_version) {
    for (;;) {
      if (in_len == in_cap) {
        in_cap = in_cap ? in_cap * 2 : 16384;
        if (in_cap > MAX_STDIN + 1) in_cap = MAX_STDIN + 1;
        in = realloc(in, in_cap);
        if (!in) die("out of memory");
      }
      if (in_len == in_cap) break; /* larger than MAX_STDIN: the daemon refuses it */
      ssize_t r = read(0, in + in_len, in_cap - in_len);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      in_len += (size_t)r;
    }
  }
  size_t total = 16 + env_len + in_len;
  char *frame = malloc(total ? total : 1);
  if (!frame) die("out of memory");
  memcpy(frame, "CNKA", 4);
  frame[4] = PROTO_VERSION;
  frame[5] = TYPE_CALL;
  frame[6] = frame[7] = 0;
  put32(frame + 8, (uint32_t)env_len);
  put32(frame + 12, (uint32_t)in_len);
  char *w = frame + 16;
  for (char **e = environ; *e; e++) {
    if (strncmp(*e, "CNI_", 4)) continue;
    size_t l = strlen(*e) + 1;
    memcpy(w, *e, l);
    w += l;
  }
  if (in_len) memcpy(w, in, in_len);
  /* a write error (the daemon closed early) is judged by what it answered */
  if (send_all(fd, frame, total) == 0) shutdown(fd, SHUT_WR);
  free(frame);

  unsigned char hdr[16];
  size_t got = recv_all(fd, (char *)hdr, sizeof hdr);
  if (got >= 5 && (memcmp(hdr, "CNKA", 4) || hdr[4] != PROTO_VERSION)) fallback(argv, in, in_len, !is_version);
  if (got < sizeof hdr) try_again("closed the connection before answering");
  if (hdr[5] == TYPE_SKEW) fallback(argv, in, in_len, !is_version);
  if (hdr[5] != TYPE_RESULT) try_again("sent an unexpected answer");
  uint32_t out_len = get32(hdr + 8), err_len = get32(hdr + 12);
  if (out_len > MAX_REPLY || err_len > MAX_REPLY) try_again("sent an oversized answer");
  char *body = malloc((size_t)out_len + err_len + 1);
  if (!body) die("out of memory");
  if (recv_all(fd, body, (size_t)out_len + err_len) != (size_t)out_len + err_len)
    try_again("closed the connection mid-answer");
  stop_deadline();
  write_all(2, body + out_len, err_len);
  write_all(1, body, out_len);
  return hdr[6];
}
