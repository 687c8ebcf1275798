/* http_server: a static HTTP/1.1 server for `oxv bench` (http_rps) and the
 * host-facing network tests. One thread, epoll, non-blocking sockets,
 * keep-alive and pipelining; every GET is answered with the same body.
 * `GET /quit` is answered with "bye\n", then the server exits 0 (a small answer:
 * a VM ends with its app, and bytes still in a socket's buffer may not leave).
 * `GET /cpu` is answered with "served=N busy_ns=B\n": the requests answered so
 * far (other than /cpu) and the guest's busy CPU time since boot, summed over
 * CPUs, from /proc/uptime (elapsed x CPUs - idle; 10 ms steps). `oxv bench`
 * reads it at both ends of its window under -icount, where a nanosecond of busy
 * time is one instruction.
 * Two requests move a stream for tcp_host_to_guest and tcp_guest_to_host:
 * `GET /stream/N` is answered with N bytes of body, sent in 64 KiB writes as the
 * socket takes them; `POST /sink` with `Content-Length: N` has its N bytes of body
 * read (64 KiB reads) and thrown away, then is answered with "got N\n".
 *
 * argv[1]: TCP port (default 8080); argv[2]: body bytes (default: the line
 * "hello from oxv http_server\n"; a number N gives N bytes of 'x').
 * Prints "http_server: listening on PORT" when it accepts connections and
 * "http_server: served N requests" when it quits. Built with gcc -static. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_EVENTS 64
#define IN_CAP 8192
#define CHUNK 65536

struct conn {
	int fd;
	size_t in_len;
	char in[IN_CAP];
	char *out;
	size_t out_len, out_off, out_cap;
	int polling_out; /* EPOLLOUT is in its epoll events */
	long long stream_left; /* body bytes of a GET /stream still to send */
	long long sink_left, sink_len; /* body bytes of a POST /sink still to read, all of it */
};

static char chunk[CHUNK];

static char *response;
static size_t response_len;
static long served;

/* The guest's busy CPU time since boot in ns, or -1. /proc/uptime's second field
 * is the idle time of all CPUs together, as on Linux. */
static long long busy_ns(void)
{
	char buf[128];
	int fd = open("/proc/uptime", O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/* The bench's Linux init mounts nothing: mount procfs ourselves (we are root). */
		mkdir("/proc", 0555);
		if (mount("proc", "/proc", "proc", 0, NULL) == 0)
			fd = open("/proc/uptime", O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	unsigned long long up_s, up_cs, idle_s, idle_cs;
	if (sscanf(buf, "%llu.%2llu %llu.%2llu", &up_s, &up_cs, &idle_s, &idle_cs) != 4)
		return -1;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 1)
		cpus = 1;
	long long up = (long long)(up_s * 100 + up_cs) * cpus;
	long long idle = (long long)(idle_s * 100 + idle_cs);
	return (up > idle ? up - idle : 0) * 10000000LL;
}

static void die(const char *what)
{
	printf("http_server: %s failed: %s\n", what, strerror(errno));
	fflush(stdout);
	exit(1);
}

static void build_response(long body_len)
{
	const char *line = "hello from oxv http_server\n";
	if (body_len <= 0)
		body_len = (long)strlen(line);
	char head[160];
	int n = snprintf(head, sizeof head,
			 "HTTP/1.1 200 OK\r\nServer: oxv-bench\r\nContent-Type: text/plain\r\n"
			 "Content-Length: %ld\r\n\r\n",
			 body_len);
	response_len = (size_t)n + (size_t)body_len;
	response = malloc(response_len);
	if (!response)
		die("malloc");
	memcpy(response, head, (size_t)n);
	if (body_len == (long)strlen(line))
		memcpy(response + n, line, (size_t)body_len);
	else
		memset(response + n, 'x', (size_t)body_len);
}

static void close_conn(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	free(c);
}

static int queue_out(struct conn *c, const char *data, size_t len);

/* Sends what is queued, then the rest of a stream; 0 when all of it went, 1 when the
 * socket is full, -1 on error. */
static int flush_out(struct conn *c)
{
	while (c->out_off < c->out_len || c->stream_left > 0) {
		int queued = c->out_off < c->out_len;
		size_t n = queued ? c->out_len - c->out_off
				  : (c->stream_left < CHUNK ? (size_t)c->stream_left : CHUNK);
		ssize_t w = send(c->fd, queued ? c->out + c->out_off : chunk, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (queued)
			c->out_off += (size_t)w;
		else
			c->stream_left -= w;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

static int queue_out(struct conn *c, const char *data, size_t len)
{
	if (c->out_len + len > c->out_cap) {
		size_t cap = (c->out_len + len) * 2;
		char *p = realloc(c->out, cap);
		if (!p)
			return -1;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	return 0;
}

/* Takes `n` bytes of a POST /sink body; answers once all of it came. */
static int sink(struct conn *c, size_t n)
{
	c->sink_left -= (long long)n;
	if (c->sink_left > 0)
		return 0;
	char head[128];
	char body[32];
	int bn = snprintf(body, sizeof body, "got %lld\n", c->sink_len);
	int hn = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", bn,
			  body);
	served++;
	return queue_out(c, head, (size_t)hn);
}

/* Answers the complete requests in c->in. Returns -1 to close, 1 to quit. */
static int handle_requests(struct conn *c)
{
	int quit = 0;
	size_t start = 0;
	for (;;) {
		if (c->sink_left > 0) {
			size_t n = c->in_len - start;
			if ((long long)n > c->sink_left)
				n = (size_t)c->sink_left;
			start += n;
			if (sink(c, n) != 0)
				return -1;
			if (c->sink_left > 0)
				break;
		}
		if (c->stream_left > 0)
			break; /* the next request waits for the stream's end */
		char *end = memmem(c->in + start, c->in_len - start, "\r\n\r\n", 4);
		if (!end)
			break;
		size_t req_len = (size_t)(end - (c->in + start)) + 4;
		char *req = c->in + start;
		if (req_len > 11 && memcmp(req, "POST /sink ", 11) == 0) {
			char *cl = memmem(req, req_len, "\r\nContent-Length: ", 18);
			long long n = cl ? strtoll(cl + 18, NULL, 10) : -1;
			if (n < 0)
				return -1;
			c->sink_len = c->sink_left = n;
			start += req_len;
			if (n == 0 && sink(c, 0) != 0)
				return -1;
			continue;
		}
		if (req_len > 12 && memcmp(req, "GET /stream/", 12) == 0) {
			char head[96];
			long long n = strtoll(req + 12, NULL, 10);
			int hn = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %lld\r\n\r\n",
					  n > 0 ? n : 0);
			if (queue_out(c, head, (size_t)hn) != 0)
				return -1;
			c->stream_left = n > 0 ? n : 0;
			served++;
			start += req_len;
			continue;
		}
		if (req_len < 5 || memcmp(req, "GET ", 4) != 0) {
			static const char bad[] =
				"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
			queue_out(c, bad, sizeof bad - 1);
			flush_out(c);
			return -1;
		}
		if (req_len >= 10 && memcmp(req + 4, "/quit", 5) == 0 && (req[9] == ' ' || req[9] == '?'))
			quit = 1;
		int cpu = req_len >= 9 && memcmp(req + 4, "/cpu ", 5) == 0;
		static const char bye[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbye\n";
		int r;
		if (cpu) {
			char body[96], head[256];
			int bn = snprintf(body, sizeof body, "served=%ld busy_ns=%lld\n", served, busy_ns());
			int hn = snprintf(head, sizeof head,
					  "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", bn, body);
			r = queue_out(c, head, (size_t)hn);
		} else {
			r = quit ? queue_out(c, bye, sizeof bye - 1) : queue_out(c, response, response_len);
		}
		if (r != 0)
			return -1;
		if (!cpu)
			served++;
		start += req_len;
	}
	memmove(c->in, c->in + start, c->in_len - start);
	c->in_len -= start;
	if (c->in_len == IN_CAP)
		return -1; /* a request head larger than the buffer */
	return quit;
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 8080;
	build_response(argc > 2 ? atol(argv[2]) : 0);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	int one = 1;
	int lsn = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lsn < 0)
		die("socket");
	setsockopt(lsn, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	if (bind(lsn, (struct sockaddr *)&addr, sizeof addr) != 0)
		die("bind");
	if (listen(lsn, 128) != 0)
		die("listen");
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lsn, &ev) != 0)
		die("epoll_ctl");
	printf("http_server: listening on %d\n", port);

	struct epoll_event events[MAX_EVENTS];
	for (;;) {
		int n = epoll_wait(ep, events, MAX_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = events[i].data.ptr;
			if (!c) {
				for (;;) {
					int fd = accept4(lsn, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (fd < 0) {
						if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
						    errno != ECONNABORTED)
							die("accept4");
						break;
					}
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
					c = calloc(1, sizeof *c);
					if (!c) {
						close(fd);
						continue;
					}
					c->fd = fd;
					struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
					if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev) != 0) {
						close(fd);
						free(c);
					}
				}
				continue;
			}
			int quit = 0, gone = 0;
			if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
				for (;;) {
					ssize_t r;
					if (c->sink_left > 0 && c->in_len == 0) {
						/* A body to throw away: straight into the chunk. */
						size_t want = c->sink_left < CHUNK ? (size_t)c->sink_left : CHUNK;
						r = recv(c->fd, chunk, want, 0);
						if (r > 0) {
							if (sink(c, (size_t)r) != 0) {
								gone = 1;
								break;
							}
							continue;
						}
					} else {
						r = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, 0);
					}
					if (r > 0) {
						c->in_len += (size_t)r;
						int h = handle_requests(c);
						if (h < 0) {
							gone = 1;
							break;
						}
						quit |= h;
						continue;
					}
					if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
						gone = 1;
					if (r < 0 && errno == EINTR)
						continue;
					break;
				}
			}
			int f = c->out_len || c->stream_left ? flush_out(c) : 0;
			if (quit) {
				/* The rest of the answers, blocking, then a graceful close. */
				int fl = fcntl(c->fd, F_GETFL);
				if (f == 1 && fl >= 0 && fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK) == 0)
					flush_out(c);
				close_conn(ep, c);
				printf("http_server: served %ld requests\n", served);
				return 0;
			}
			if (gone || f < 0) {
				close_conn(ep, c);
				continue;
			}
			if (f != c->polling_out) {
				struct epoll_event cev = {
					.events = EPOLLIN | EPOLLRDHUP | (f ? EPOLLOUT : 0), .data.ptr = c};
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &cev);
				c->polling_out = f;
			}
		}
	}
}
