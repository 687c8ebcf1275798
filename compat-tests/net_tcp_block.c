// Blocking TCP calls on the loopback, woken by another thread: accept waits for a connect;
// recv waits for data; MSG_WAITALL waits until the buffer is full; a 1 MiB blocking send
// completes while a reader drains; SO_RCVTIMEO ends a wait with EAGAIN; a signal whose
// handler has no SA_RESTART ends a blocking recv with EINTR, and with SA_RESTART the recv
// goes on and gets the data sent after the signal.
#include "tst_net.h"
#include "tst_thread.h"

#include <sys/time.h>

static int lport, server_fd = -1, peer_fd = -1;
static volatile int handled;

static void *acceptor(void *arg)
{
	(void)arg;
	server_fd = accept(*(int *)arg, NULL, NULL);
	return NULL;
}

static void *late_sender(void *arg)
{
	tst_sleep_ms(50);
	send(peer_fd, (const char *)arg, strlen((const char *)arg), 0);
	return NULL;
}

static void *drainer(void *arg)
{
	static char buf[65536];
	long total = 0, n;

	(void)arg;
	while (total < (1 << 20) && (n = recv(server_fd, buf, sizeof(buf), 0)) > 0)
		total += n;
	return (void *)total;
}

static void *alarm_then_send(void *arg)
{
	tst_sleep_ms(50);
	pthread_kill(*(pthread_t *)arg, SIGUSR1);
	tst_sleep_ms(50);
	send(peer_fd, "after", 5, 0);
	return NULL;
}

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

int main(void)
{
	static char big[1 << 20];
	struct sockaddr_in a;
	struct timeval tv = { 0, 40000 };
	struct sigaction sa;
	pthread_t t, me = pthread_self();
	char buf[32];
	void *ret;
	int l, c, n;

	tst_watchdog(20, "net_tcp_block");
	l = tcp_listener(&lport, 4);
	pthread_create(&t, NULL, acceptor, &l);
	tst_sleep_ms(50);
	c = socket(AF_INET, SOCK_STREAM, 0);
	a = lo4(lport);
	tst_check(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0, "connect");
	pthread_join(t, NULL);
	tst_check(server_fd >= 0, "a blocked accept returns the connection");

	peer_fd = server_fd;
	pthread_create(&t, NULL, late_sender, "late");
	n = recv(c, buf, sizeof(buf), 0);
	pthread_join(t, NULL);
	tst_check(n == 4 && memcmp(buf, "late", 4) == 0, "a blocked recv gets data sent later");

	pthread_create(&t, NULL, late_sender, "0123456789");
	send(server_fd, "ab", 2, 0);
	n = recv(c, buf, 12, MSG_WAITALL);
	pthread_join(t, NULL);
	tst_check(n == 12 && memcmp(buf, "ab0123456789", 12) == 0, "MSG_WAITALL fills the buffer");

	memset(big, 'z', sizeof(big));
	pthread_create(&t, NULL, drainer, NULL);
	n = send(c, big, sizeof(big), 0);
	pthread_join(t, &ret);
	tst_check(n == (int)sizeof(big) && (long)ret == (long)sizeof(big),
		  "a 1 MiB blocking send completes while a reader drains");

	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	NET_ERR("recv with SO_RCVTIMEO", recv(c, buf, sizeof(buf), 0), EAGAIN);
	tv.tv_usec = 0;
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	peer_fd = server_fd;
	pthread_create(&t, NULL, alarm_then_send, &me);
	NET_ERR("recv interrupted by a handler without SA_RESTART", recv(c, buf, sizeof(buf), 0),
		EINTR);
	pthread_join(t, NULL);
	tst_check(recv(c, buf, sizeof(buf), 0) == 5, "the data sent after it is still there");

	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	pthread_create(&t, NULL, alarm_then_send, &me);
	n = recv(c, buf, sizeof(buf), 0);
	pthread_join(t, NULL);
	tst_check(n == 5 && memcmp(buf, "after", 5) == 0 && handled == 2,
		  "with SA_RESTART the recv goes on after the handler");
	close(c);
	close(server_fd);
	close(l);
	return tst_exit();
}
