/* TCP over loopback from threads on several CPUs while other threads churn the kernel.
 *
 * PAIRS connections; on each, both ends send BYTES to the other and read what the other
 * sent (4 streaming threads per connection), with write(2)/send(2)/sendto(2)/writev(2)/
 * sendmsg(2) and read(2)/recv(2)/recvfrom(2)/readv(2)/recvmsg(2) of varying sizes, some
 * non-blocking with poll(2), some into freshly mapped buffers (so the copy faults). Every
 * byte is checked against the pattern of its stream. Meanwhile: mmap/touch/munmap churn
 * (TLB shootdowns), a pipe ping-pong and a futex (mutex + condition) ping-pong. Prints
 * "net_smp: ok bytes=N" and exits 0, or names the first wrong byte and exits 1.
 *
 * With "mix" as the third argument, at the same time: an AF_UNIX stream pair streaming
 * both ways like a TCP connection; UDP over loopback and an AF_UNIX datagram pair, each with
 * two senders and two receivers on one socket (every datagram checked, none lost or twice);
 * and an AF_UNIX seqpacket pair passing a pipe with SCM_RIGHTS in every record (some
 * received without room for it, so the kernel closes it). Then it also prints
 * "net_smp: mix ok unix=N udp=N dgram=N rights=N".
 *
 * Usage: net_smp_stream [PAIRS [MIB_PER_DIRECTION [mix]]] (defaults 2 and 4). */
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
#include <time.h>
#include <unistd.h>

#define MAX_PAIRS 8

static long BYTES;
static atomic_int stop_churn;
static atomic_long moved;
static atomic_long moved_unix;
/* Where the threads are, for the watch line: writers past shutdown(2), readers past EOF,
 * datagram receivers past their end mark, datagram flows joined. */
static atomic_int writers_done, readers_done, dgram_ended, flows_done, churn_joined;

/* Streams with a seed from here on are AF_UNIX (counted apart from TCP). */
#define UNIX_SEED 200

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
            switch ((d->style + rnd(&r)) % 5) {
            case 0: k = write(d->fd, buf + done, n - done); break;
            case 1: k = send(d->fd, buf + done, n - done, 0); break;
            case 2: {
                long half = (n - done) / 2;
                struct iovec v[2] = {{buf + done, half}, {buf + done + half, n - done - half}};
                k = writev(d->fd, v, 2);
                break;
            }
            case 3: k = sendto(d->fd, buf + done, n - done, MSG_DONTWAIT, NULL, 0); break;
            default: {
                long third = (n - done) / 3;
                struct iovec v[2] = {{buf + done, third}, {buf + done + third, n - done - third}};
                struct msghdr m = {.msg_iov = v, .msg_iovlen = 2};
                k = sendmsg(d->fd, &m, MSG_NOSIGNAL);
                break;
            }
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
    atomic_fetch_add(&writers_done, 1);
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
        int how = (d->style + rnd(&r)) % 6;
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
        case 5: {
            struct iovec v[2] = {{buf, want / 3}, {buf + want / 3, want - want / 3}};
            struct msghdr m = {.msg_iov = v, .msg_iovlen = 2};
            k = recvmsg(d->fd, &m, 0);
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
        atomic_fetch_add(d->seed >= UNIX_SEED ? &moved_unix : &moved, k);
    }
    if (off != BYTES) {
        printf("net_smp: stream %u ended at %ld of %ld\n", d->seed, off, BYTES);
        fflush(stdout);
        _exit(1);
    }
    atomic_fetch_add(&readers_done, 1);
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


/* Datagrams: two senders and two receivers on one socket each way. A datagram is its
 * sequence number, its length and a pattern of the number; receivers mark what they saw.
 * Senders keep at most DG_WINDOW datagrams unread, so UDP's receive queue never drops. */
#define DG_MAX 8192
#define DG_WINDOW 12
#define DG_END 0xffffffffu

struct dgram_flow {
    const char *name;
    int tx, rx;                 /* sending and receiving socket */
    struct sockaddr_storage to; /* where sendto(2)/sendmsg(2) with a name go */
    socklen_t tolen;
    unsigned count; /* datagrams in all */
    atomic_uint sent, got;
    atomic_uchar *seen;
};

struct dgram_role {
    struct dgram_flow *f;
    int index;
};

static unsigned char dpat(unsigned seq, long i) {
    return (unsigned char)((seq * 29u + i * 7u + (i >> 8)) & 0xff);
}

static void *dgram_sender(void *arg) {
    struct dgram_role *role = arg;
    struct dgram_flow *f = role->f;
    unsigned r = 77 + role->index;
    unsigned char *buf = malloc(DG_MAX);
    for (unsigned seq = role->index; seq < f->count; seq += 2) {
        while (atomic_load(&f->sent) - atomic_load(&f->got) >= DG_WINDOW)
            usleep(50);
        size_t len = 8 + rnd(&r) % (DG_MAX - 8);
        memcpy(buf, &seq, 4);
        unsigned l32 = (unsigned)len;
        memcpy(buf + 4, &l32, 4);
        for (size_t i = 8; i < len; i++)
            buf[i] = dpat(seq, i);
        atomic_fetch_add(&f->sent, 1);
        ssize_t k;
        for (;;) {
            switch (rnd(&r) % 4) {
            case 0: k = send(f->tx, buf, len, 0); break;
            case 1: k = write(f->tx, buf, len); break;
            case 2: k = sendto(f->tx, buf, len, 0, (struct sockaddr *)&f->to, f->tolen); break;
            default: {
                struct iovec v[2] = {{buf, len / 2}, {buf + len / 2, len - len / 2}};
                struct msghdr m = {.msg_name = f->tolen ? &f->to : NULL,
                                   .msg_namelen = f->tolen,
                                   .msg_iov = v,
                                   .msg_iovlen = 2};
                k = sendmsg(f->tx, &m, 0);
            }
            }
            if (k < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
                usleep(100);
                continue;
            }
            break;
        }
        if (k != (ssize_t)len)
            die(f->name);
    }
    free(buf);
    return NULL;
}

static void *dgram_receiver(void *arg) {
    struct dgram_role *role = arg;
    struct dgram_flow *f = role->f;
    unsigned r = 91 + role->index;
    unsigned char *heap = malloc(DG_MAX);
    for (;;) {
        unsigned char *buf = heap;
        int fresh = rnd(&r) % 8 == 0;
        if (fresh) {
            buf = mmap(NULL, DG_MAX, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (buf == MAP_FAILED)
                die("mmap");
        }
        ssize_t k;
        int flags = 0;
        switch (rnd(&r) % 5) {
        case 0: k = recv(f->rx, buf, DG_MAX, 0); break;
        case 1: k = read(f->rx, buf, DG_MAX); break;
        case 2: {
            struct sockaddr_storage from;
            socklen_t len = sizeof from;
            k = recvfrom(f->rx, buf, DG_MAX, 0, (struct sockaddr *)&from, &len);
            break;
        }
        case 3: {
            struct iovec v[2] = {{buf, 100}, {buf + 100, DG_MAX - 100}};
            struct msghdr m = {.msg_iov = v, .msg_iovlen = 2};
            k = recvmsg(f->rx, &m, 0);
            flags = m.msg_flags;
            break;
        }
        default: {
            struct iovec v[2] = {{buf, 3}, {buf + 3, DG_MAX - 3}};
            k = readv(f->rx, v, 2);
        }
        }
        if (k < 8 || (flags & MSG_TRUNC))
            die(f->name);
        unsigned seq, len;
        memcpy(&seq, buf, 4);
        memcpy(&len, buf + 4, 4);
        if (seq == DG_END) {
            atomic_fetch_add(&dgram_ended, 1);
            if (fresh)
                munmap(buf, DG_MAX);
            break;
        }
        if (seq >= f->count || len != (unsigned)k) {
            printf("net_smp: %s: datagram %u of length %zd says %u\n", f->name, seq, k, len);
            fflush(stdout);
            _exit(1);
        }
        for (ssize_t i = 8; i < k; i++) {
            if (buf[i] != dpat(seq, i)) {
                printf("net_smp: %s: datagram %u byte %zd is %u, want %u\n", f->name, seq, i,
                       buf[i], dpat(seq, i));
                fflush(stdout);
                _exit(1);
            }
        }
        if (atomic_exchange(&f->seen[seq], 1)) {
            printf("net_smp: %s: datagram %u twice\n", f->name, seq);
            fflush(stdout);
            _exit(1);
        }
        atomic_fetch_add(&f->got, 1);
        if (fresh)
            munmap(buf, DG_MAX);
    }
    free(heap);
    return NULL;
}

/* Runs a flow's four threads to the end; returns the datagrams that arrived. */
static void *dgram_flow_run(void *arg) {
    struct dgram_flow *f = arg;
    f->seen = calloc(f->count, 1);
    struct dgram_role roles[4] = {{f, 0}, {f, 1}, {f, 0}, {f, 1}};
    pthread_t t[4];
    pthread_create(&t[0], NULL, dgram_sender, &roles[0]);
    pthread_create(&t[1], NULL, dgram_sender, &roles[1]);
    pthread_create(&t[2], NULL, dgram_receiver, &roles[2]);
    pthread_create(&t[3], NULL, dgram_receiver, &roles[3]);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    /* Every datagram in (at most a minute), then one end mark per receiver. */
    time_t start = time(NULL);
    while (atomic_load(&f->got) < f->count) {
        if (time(NULL) - start > 60) {
            printf("net_smp: %s: %u of %u datagrams arrived\n", f->name, atomic_load(&f->got),
                   f->count);
            fflush(stdout);
            _exit(1);
        }
        usleep(100);
    }
    unsigned end[2] = {DG_END, 8};
    for (int i = 0; i < 2; i++)
        if (send(f->tx, end, 8, 0) != 8)
            die(f->name);
    pthread_join(t[2], NULL);
    pthread_join(t[3], NULL);
    for (unsigned i = 0; i < f->count; i++)
        if (!f->seen[i]) {
            printf("net_smp: %s: datagram %u never came\n", f->name, i);
            fflush(stdout);
            _exit(1);
        }
    atomic_fetch_add(&flows_done, 1);
    return (void *)(long)atomic_load(&f->got);
}

/* SCM_RIGHTS over a seqpacket pair: each record carries the read end of a fresh pipe whose
 * write end already held its token and is closed; every eighth record is received without
 * room for the file (the kernel closes it and sets MSG_CTRUNC). */
#define RIGHTS_ROUNDS 400
static int rights_sv[2];
static atomic_uint rights_sent, rights_got;

static void *rights_sender(void *arg) {
    (void)arg;
    for (unsigned i = 0; i < RIGHTS_ROUNDS; i++) {
        int p[2];
        if (pipe(p) < 0)
            die("rights pipe");
        unsigned long token = 0x5ca1ab1e00000000ul | i;
        if (write(p[1], &token, sizeof token) != sizeof token)
            die("rights token");
        close(p[1]);
        unsigned char data[64];
        for (int j = 0; j < 64; j++)
            data[j] = dpat(i, j);
        memcpy(data, &i, 4);
        union {
            struct cmsghdr h;
            char b[CMSG_SPACE(sizeof(int))];
        } c;
        memset(&c, 0, sizeof c);
        struct iovec v = {data, sizeof data};
        struct msghdr m = {
            .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof c.b};
        struct cmsghdr *h = CMSG_FIRSTHDR(&m);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(h), &p[0], sizeof(int));
        if (sendmsg(rights_sv[0], &m, 0) != sizeof data)
            die("rights sendmsg");
        atomic_fetch_add(&rights_sent, 1);
        close(p[0]);
    }
    return NULL;
}

static void *rights_receiver(void *arg) {
    (void)arg;
    unsigned long passed = 0;
    for (unsigned i = 0; i < RIGHTS_ROUNDS; i++) {
        unsigned char data[64];
        union {
            struct cmsghdr h;
            char b[CMSG_SPACE(sizeof(int))];
        } c;
        int room = i % 8 != 3;
        struct iovec v = {data, sizeof data};
        struct msghdr m = {.msg_iov = &v,
                           .msg_iovlen = 1,
                           .msg_control = room ? c.b : NULL,
                           .msg_controllen = room ? sizeof c.b : 0};
        if (recvmsg(rights_sv[1], &m, 0) != sizeof data)
            die("rights recvmsg");
        atomic_fetch_add(&rights_got, 1);
        unsigned seq;
        memcpy(&seq, data, 4);
        for (int j = 4; j < 64; j++)
            if (data[j] != dpat(i, j))
                seq = ~0u;
        if (seq != i) {
            printf("net_smp: rights: record %u is wrong\n", i);
            fflush(stdout);
            _exit(1);
        }
        if (!room) {
            if (!(m.msg_flags & MSG_CTRUNC)) {
                printf("net_smp: rights: record %u without room lacks MSG_CTRUNC\n", i);
                fflush(stdout);
                _exit(1);
            }
            continue;
        }
        struct cmsghdr *h = CMSG_FIRSTHDR(&m);
        if (!h || h->cmsg_type != SCM_RIGHTS || h->cmsg_len != CMSG_LEN(sizeof(int))) {
            printf("net_smp: rights: record %u came without its file\n", i);
            fflush(stdout);
            _exit(1);
        }
        int fd;
        memcpy(&fd, CMSG_DATA(h), sizeof fd);
        unsigned long token = 0;
        if (read(fd, &token, sizeof token) != sizeof token ||
            token != (0x5ca1ab1e00000000ul | i) || read(fd, &token, 1) != 0) {
            printf("net_smp: rights: record %u's pipe is wrong\n", i);
            fflush(stdout);
            _exit(1);
        }
        close(fd);
        passed++;
    }
    return (void *)passed;
}

static struct dgram_flow udp, udg;

/* Says where each mixed flow is every 20 s (a hang then shows which one stopped). */
static void *mix_watch(void *arg) {
    (void)arg;
    for (;;) {
        sleep(20);
        printf("net_smp: watch: tcp=%ld unix=%ld udp=%u/%u dgram=%u/%u rights=%u/%u "
               "writers=%d readers=%d ends=%d flows=%d churn=%d/%d\n",
               atomic_load(&moved), atomic_load(&moved_unix), atomic_load(&udp.got),
               atomic_load(&udp.sent), atomic_load(&udg.got), atomic_load(&udg.sent),
               atomic_load(&rights_got), atomic_load(&rights_sent), atomic_load(&writers_done),
               atomic_load(&readers_done), atomic_load(&dgram_ended), atomic_load(&flows_done),
               atomic_load(&stop_churn), atomic_load(&churn_joined));
    }
    return NULL;
}

static void udp_flow(struct dgram_flow *f) {
    f->name = "udp";
    f->tx = socket(AF_INET, SOCK_DGRAM, 0);
    f->rx = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (f->tx < 0 || f->rx < 0 || bind(f->rx, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(f->rx, (struct sockaddr *)&a, &alen) < 0 ||
        connect(f->tx, (struct sockaddr *)&a, sizeof a) < 0)
        die("udp setup");
    memcpy(&f->to, &a, sizeof a);
    f->tolen = sizeof a;
    f->count = 3000;
}

static void unix_dgram_flow(struct dgram_flow *f) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0)
        die("unix dgram socketpair");
    f->name = "unix dgram";
    f->tx = sv[0];
    f->rx = sv[1];
    f->tolen = 0; /* a connected pair: sendto(2)/sendmsg(2) without a name */
    f->count = 3000;
}

int main(int argc, char **argv) {
    int pairs = argc > 1 ? atoi(argv[1]) : 2;
    long mib = argc > 2 ? atol(argv[2]) : 4;
    int mix = argc > 3 && strcmp(argv[3], "mix") == 0;
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
    struct dir dirs[MAX_PAIRS * 2 + 2];
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
    int streams = 2 * pairs;
    if (mix) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
            die("unix socketpair");
        dirs[streams] = (struct dir){sv[0], UNIX_SEED, 1};
        dirs[streams + 1] = (struct dir){sv[1], UNIX_SEED + 1, 2};
        streams += 2;
    }
    pthread_t churn[5], io[MAX_PAIRS * 4 + 4], mixed[4];

    pthread_create(&churn[0], NULL, map_churn, NULL);
    pthread_create(&churn[1], NULL, pipe_echo, NULL);
    pthread_create(&churn[2], NULL, pipe_ping, NULL);
    pthread_create(&churn[3], NULL, futex_ping, (void *)0L);
    pthread_create(&churn[4], NULL, futex_ping, (void *)1L);
    /* Stream seed s is written on its own end and read on the peer's. */
    static struct dir rd[MAX_PAIRS * 2 + 2];
    if (mix) {
        udp_flow(&udp);
        unix_dgram_flow(&udg);
        if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, rights_sv) < 0)
            die("seqpacket socketpair");
        pthread_create(&mixed[0], NULL, dgram_flow_run, &udp);
        pthread_create(&mixed[1], NULL, dgram_flow_run, &udg);
        pthread_create(&mixed[2], NULL, rights_sender, NULL);
        pthread_create(&mixed[3], NULL, rights_receiver, NULL);
        pthread_t watch;
        pthread_create(&watch, NULL, mix_watch, NULL);
        pthread_detach(watch);
    }
    for (int i = 0; i < streams; i++) {
        struct dir peer = dirs[i ^ 1];
        rd[i] = (struct dir){peer.fd, dirs[i].seed, dirs[i].style + 1};
        pthread_create(&io[2 * i], NULL, writer, &dirs[i]);
        pthread_create(&io[2 * i + 1], NULL, reader, &rd[i]);
    }
    for (int i = 0; i < 2 * streams; i++)
        pthread_join(io[i], NULL);
    void *udp_got = NULL, *udg_got = NULL, *rights = NULL;
    if (mix) {
        pthread_join(mixed[0], &udp_got);
        pthread_join(mixed[1], &udg_got);
        pthread_join(mixed[2], NULL);
        pthread_join(mixed[3], &rights);
    }
    atomic_store(&stop_churn, 1);
    void *maps, *pings;
    pthread_join(churn[0], &maps);
    atomic_fetch_add(&churn_joined, 1);
    pthread_join(churn[1], NULL);
    atomic_fetch_add(&churn_joined, 1);
    pthread_join(churn[2], &pings);
    atomic_fetch_add(&churn_joined, 1);
    pthread_mutex_lock(&mu);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(churn[3], NULL);
    atomic_fetch_add(&churn_joined, 1);
    pthread_join(churn[4], NULL);
    printf("net_smp: ok bytes=%ld maps=%lu pings=%lu\n", atomic_load(&moved),
           (unsigned long)maps, (unsigned long)pings);
    if (mix)
        printf("net_smp: mix ok unix=%ld udp=%ld dgram=%ld rights=%lu\n",
               atomic_load(&moved_unix), (long)udp_got, (long)udg_got, (unsigned long)rights);
    return 0;
}
