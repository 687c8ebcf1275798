/* TCP over loopback from threads on several CPUs while other threads churn the kernel.
 *
 * PAIRS connections; on each, both ends send BYTES to the other and read what the other
 * sent (4 streaming threads per connection), with write(2)/send(2)/sendto(2)/writev(2)
 * and read(2)/recv(2)/recvfrom(2)/readv(2) of varying sizes, some non-blocking with
 * poll(2), some into freshly mapped buffers (so the copy faults). Every byte is checked against the pattern
 * of its stream. Meanwhile: mmap/touch/munmap churn (TLB shootdowns), a pipe ping-pong and
 * a futex (mutex + condition) ping-pong. Prints "net_smp: ok bytes=N" and exits 0, or
 * names the first wrong byte and exits 1.
 *
 * Usage: net_smp_stream [PAIRS [MIB_PER_DIRECTION]] (defaults 2 and 4). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_PAIRS 8

static long BYTES;
static atomic_int stop_churn;
static atomic_long moved;

struct dir {
    int fd;         /* this end's socket */
    unsigned seed;  /* the stream's pattern */
    int style;      /* how it reads / writes */
};

static unsigned char pat(unsigned seed, long off) {
    return (unsigned char)((off * 131u + (off >> 9) * 7u + seed) & 0xff);
}

static unsigned rnd(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void die(const char *what) {
    printf("net_smp: %s: %s\n", what, strerror(errno));
    fflush(stdout);
    _exit(1);
}

static void *writer(void *arg) {
    struct dir *d = arg;
    unsigned r = d->seed * 7 + 1;
    unsigned char *buf = malloc(65536);
    long off = 0;
    while (off < BYTES) {
        long n = 1 + rnd(&r) % 65536;
        if (n > BYTES - off)
            n = BYTES - off;
        for (long i = 0; i < n; i++)
            buf[i] = pat(d->seed, off + i);
        long done = 0;
        while (done < n) {
            ssize_t k;
            switch ((d->style + rnd(&r)) % 4) {
            case 0: k = write(d->fd, buf + done, n - done); break;
            case 1: k = send(d->fd, buf + done, n - done, 0); break;
            case 2: {
                long half = (n - done) / 2;
                struct iovec v[2] = {{buf + done, half}, {buf + done + half, n - done - half}};
                k = writev(d->fd, v, 2);
                break;
            }
            default: k = sendto(d->fd, buf + done, n - done, MSG_DONTWAIT, NULL, 0); break;
            }
            if (k < 0 && errno == EAGAIN) {
                struct pollfd p = {d->fd, POLLOUT, 0};
                poll(&p, 1, 1000);
                continue;
            }
            if (k <= 0)
                die("write");
            done += k;
        }
        off += n;
    }
    shutdown(d->fd, SHUT_WR);
    free(buf);
    return NULL;
}

static void *reader(void *arg) {
    struct dir *d = arg;
    unsigned r = d->seed * 13 + 5;
    unsigned char *heap = malloc(65536);
    long off = 0;
    for (;;) {
        size_t want = 1 + rnd(&r) % 65536;
        int how = (d->style + rnd(&r)) % 5;
        unsigned char *buf = heap;
        int fresh = rnd(&r) % 8 == 0;
        if (fresh) {
            buf = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (buf == MAP_FAILED)
                die("mmap");
        }
        ssize_t k;
        switch (how) {
        case 0: k = read(d->fd, buf, want); break;
        case 1: k = recv(d->fd, buf, want, 0); break;
        case 4: {
            struct iovec v[2] = {{buf, want / 2}, {buf + want / 2, want - want / 2}};
            k = readv(d->fd, v, 2);
            break;
        }
        case 2: {
            struct sockaddr_in from;
            socklen_t len = sizeof from;
            k = recvfrom(d->fd, buf, want, 0, (struct sockaddr *)&from, &len);
            break;
        }
        default:
            k = recv(d->fd, buf, want, MSG_DONTWAIT);
            if (k < 0 && errno == EAGAIN) {
                struct pollfd p = {d->fd, POLLIN, 0};
                poll(&p, 1, 1000);
                if (fresh)
                    munmap(buf, 65536);
                continue;
            }
        }
        if (k < 0)
            die("read");
        for (ssize_t i = 0; i < k; i++) {
            if (buf[i] != pat(d->seed, off + i)) {
                printf("net_smp: stream %u byte %ld is %u, want %u\n", d->seed, off + i,
                       buf[i], pat(d->seed, off + i));
                fflush(stdout);
                _exit(1);
            }
        }
        if (fresh)
            munmap(buf, 65536);
        if (k == 0)
            break;
        off += k;
        atomic_fetch_add(&moved, k);
    }
    if (off != BYTES) {
        printf("net_smp: stream %u ended at %ld of %ld\n", d->seed, off, BYTES);
        fflush(stdout);
        _exit(1);
    }
    free(heap);
    return NULL;
}

static void *map_churn(void *arg) {
    (void)arg;
    unsigned long rounds = 0;
    while (!atomic_load(&stop_churn)) {
        char *p = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            die("churn mmap");
        for (int i = 0; i < 8; i++)
            p[i * 4096] = (char)i;
        mprotect(p, 4096, PROT_READ);
        munmap(p, 8 * 4096);
        rounds++;
    }
    return (void *)rounds;
}

static int pipe_a[2], pipe_b[2];

static void *pipe_echo(void *arg) {
    (void)arg;
    char c;
    while (read(pipe_a[0], &c, 1) == 1) {
        if (c == 'Q')
            break;
        if (write(pipe_b[1], &c, 1) != 1)
            die("pipe echo");
    }
    return NULL;
}

static void *pipe_ping(void *arg) {
    (void)arg;
    unsigned long n = 0;
    while (!atomic_load(&stop_churn)) {
        char c = (char)('a' + n % 26), back;
        if (write(pipe_a[1], &c, 1) != 1 || read(pipe_b[0], &back, 1) != 1 || back != c)
            die("pipe ping");
        n++;
    }
    char q = 'Q';
    write(pipe_a[1], &q, 1);
    return (void *)n;
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long turn;

static void *futex_ping(void *arg) {
    long me = (long)arg;
    for (;;) {
        pthread_mutex_lock(&mu);
        while (turn % 2 != me && !atomic_load(&stop_churn))
            pthread_cond_wait(&cv, &mu);
        if (atomic_load(&stop_churn)) {
            pthread_cond_broadcast(&cv);
            pthread_mutex_unlock(&mu);
            return NULL;
        }
        turn++;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
    }
}

int main(int argc, char **argv) {
    int pairs = argc > 1 ? atoi(argv[1]) : 2;
    long mib = argc > 2 ? atol(argv[2]) : 4;
    if (pairs < 1 || pairs > MAX_PAIRS)
        pairs = 2;
    BYTES = mib * 1024 * 1024 + 12345;
    setvbuf(stdout, NULL, _IOLBF, 0);

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 16) < 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) < 0)
        die("listen");
    struct dir dirs[MAX_PAIRS * 2];
    for (int i = 0; i < pairs; i++) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) < 0)
            die("connect");
        int s = accept(lfd, NULL, NULL);
        if (s < 0)
            die("accept");
        dirs[2 * i] = (struct dir){c, 100 + 2 * i, i};
        dirs[2 * i + 1] = (struct dir){s, 101 + 2 * i, i + 1};
    }
    if (pipe(pipe_a) < 0 || pipe(pipe_b) < 0)
        die("pipe");
    pthread_t churn[5], io[MAX_PAIRS * 4];
    pthread_create(&churn[0], NULL, map_churn, NULL);
    pthread_create(&churn[1], NULL, pipe_echo, NULL);
    pthread_create(&churn[2], NULL, pipe_ping, NULL);
    pthread_create(&churn[3], NULL, futex_ping, (void *)0L);
    pthread_create(&churn[4], NULL, futex_ping, (void *)1L);
    /* Stream seed s is written on its own end and read on the peer's. */
    static struct dir rd[MAX_PAIRS * 2];
    for (int i = 0; i < 2 * pairs; i++) {
        struct dir peer = dirs[i ^ 1];
        rd[i] = (struct dir){peer.fd, dirs[i].seed, dirs[i].style + 1};
        pthread_create(&io[2 * i], NULL, writer, &dirs[i]);
        pthread_create(&io[2 * i + 1], NULL, reader, &rd[i]);
    }
    for (int i = 0; i < 4 * pairs; i++)
        pthread_join(io[i], NULL);
    atomic_store(&stop_churn, 1);
    void *maps, *pings;
    pthread_join(churn[0], &maps);
    pthread_join(churn[1], NULL);
    pthread_join(churn[2], &pings);
    pthread_mutex_lock(&mu);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(churn[3], NULL);
    pthread_join(churn[4], NULL);
    printf("net_smp: ok bytes=%ld maps=%lu pings=%lu\n", atomic_load(&moved),
           (unsigned long)maps, (unsigned long)pings);
    return 0;
}
