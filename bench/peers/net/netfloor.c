// netfloor: the least a server can do per request on loopback TCP, to
// bound what goro's netpoller could reach (README, "The network rows").
// One thread; `echo` answers every read with its bytes, `http` answers
// each request ("\r\n\r\n"-terminated, keep-alive) with the 13-byte hello
// response. Two I/O paths:
//   epoll  edge-triggered epoll, a read() and a send() per message, a read
//          until EAGAIN only when a short read did not drain the socket
//          (the system calls goro makes, without a scheduler)
//   uring  io_uring: one recv in flight per connection; each pass submits
//          every send and recv that the last completions produced with one
//          io_uring_enter, which also waits for the next completion
//   uring-dt  the same with IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN
//          (completion work runs in that io_uring_enter, not as task work
//          interrupting the thread)
// usage: netfloor epoll|uring|uring-dt echo|http PORT   (runs until killed)
// build: cc -O2 -o netfloor bench/peers/net/netfloor.c -luring   (liburing-dev)
// Not part of the build or of bench/run: the README's network section says
// how it was run and what it measured.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kMaxConns = 1024, kBuf = 4096 };

static const char kHello[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n"
    "Date: Sun, 06 Dec 2026 04:00:00 GMT\r\n\r\nHello, World!";

struct conn {
  int fd;
  int have;  // http: bytes of an unfinished request kept in buf
  char buf[kBuf];
  char out[kBuf];
};

static int g_http;
static struct conn* g_conns[65536];

static int listen_on(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {
      .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(s, (struct sockaddr*)&a, sizeof a) || listen(s, 1024)) {
    perror("netfloor: bind/listen");
    exit(1);
  }
  return s;
}

static struct conn* conn_new(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct conn* c = calloc(1, sizeof *c);
  c->fd = fd;
  g_conns[fd] = c;
  return c;
}

// The reply to `n` new bytes in c->buf: its length in c->out (0: none yet).
static int reply(struct conn* c, int n) {
  if (!g_http) {
    memcpy(c->out, c->buf + c->have, n);
    return n;
  }
  c->have += n;
  int len = 0, start = 0;
  for (int i = 3; i < c->have; ++i) {
    if (c->buf[i] == '\n' && c->buf[i - 1] == '\r' && c->buf[i - 2] == '\n' &&
        c->buf[i - 3] == '\r') {
      memcpy(c->out + len, kHello, sizeof kHello - 1);
      len += sizeof kHello - 1;
      start = i + 1;
    }
  }
  memmove(c->buf, c->buf + start, c->have - start);
  c->have -= start;
  return len;
}

static void run_epoll(int ls) {
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls}, evs[128];
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  for (;;) {
    int n = epoll_wait(ep, evs, 128, -1);
    for (int i = 0; i < n; ++i) {
      int fd = evs[i].data.fd;
      if (fd == ls) {
        int c;
        while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          conn_new(c);
          struct epoll_event e = {.events = EPOLLIN | EPOLLET, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
        }
        continue;
      }
      struct conn* c = g_conns[fd];
      for (;;) {
        ssize_t r = read(fd, c->buf + c->have, kBuf - c->have);
        if (r <= 0) {
          if (r < 0 && errno == EAGAIN) break;
          close(fd);
          free(c);
          g_conns[fd] = NULL;
          break;
        }
        int len = reply(c, (int)r);
        if (len) send(fd, c->out, len, MSG_NOSIGNAL);  // a tiny reply: the socket has room
        if (r < kBuf - c->have) break;  // short read: drained, wait for the next edge
      }
    }
  }
}

enum { kAccept = 0, kRecv = 1, kSend = 2 };
#define TAG(fd, op) (((uint64_t)(fd) << 2) | (op))

static void run_uring(int ls, unsigned flags) {
  struct io_uring ring;
  if (io_uring_queue_init(2048, &ring, flags)) {
    perror("netfloor: io_uring_queue_init");
    exit(1);
  }
  struct io_uring_sqe* sqe = io_uring_get_sqe(&ring);
  io_uring_prep_multishot_accept(sqe, ls, NULL, NULL, 0);
  io_uring_sqe_set_data64(sqe, TAG(ls, kAccept));
  for (;;) {
    io_uring_submit_and_wait(&ring, 1);  // one io_uring_enter: submit all, wait for one
    struct io_uring_cqe* cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      const uint64_t tag = io_uring_cqe_get_data64(cqe);
      const int fd = (int)(tag >> 2), op = (int)(tag & 3), res = cqe->res;
      if (op == kAccept) {
        if (res >= 0) {
          struct conn* c = conn_new(res);
          sqe = io_uring_get_sqe(&ring);
          io_uring_prep_recv(sqe, res, c->buf, kBuf, 0);
          io_uring_sqe_set_data64(sqe, TAG(res, kRecv));
        }
        continue;
      }
      struct conn* c = g_conns[fd];
      if (op == kRecv) {
        if (res <= 0) {
          close(fd);
          free(c);
          g_conns[fd] = NULL;
          continue;
        }
        int len = reply(c, res);
        if (len) {
          sqe = io_uring_get_sqe(&ring);
          io_uring_prep_send(sqe, fd, c->out, len, MSG_NOSIGNAL);
          io_uring_sqe_set_data64(sqe, TAG(fd, kSend));
          sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;  // no completion for a send that went
        }
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_recv(sqe, fd, c->buf + c->have, kBuf - c->have, 0);
        io_uring_sqe_set_data64(sqe, TAG(fd, kRecv));
      }
    }
    io_uring_cq_advance(&ring, seen);
  }
}

int main(int argc, char** argv) {
  if (argc != 4 ||
      (strcmp(argv[1], "epoll") && strcmp(argv[1], "uring") && strcmp(argv[1], "uring-dt")) ||
      (strcmp(argv[2], "echo") && strcmp(argv[2], "http"))) {
    fprintf(stderr, "usage: netfloor epoll|uring|uring-dt echo|http PORT\n");
    return 2;
  }
  g_http = strcmp(argv[2], "http") == 0;
  int ls = listen_on(atoi(argv[3]));
  if (!strcmp(argv[1], "epoll")) {
    fcntl(ls, F_SETFL, O_NONBLOCK);
    run_epoll(ls);
  } else if (!strcmp(argv[1], "uring")) {
    run_uring(ls, 0);
  } else {
    run_uring(ls, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
  }
}
