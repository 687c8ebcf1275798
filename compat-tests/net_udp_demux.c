// Which UDP socket takes a datagram when several are bound to one port (udp(7), socket(7)
// SO_REUSEADDR/SO_REUSEPORT; Linux's udp4_lib_lookup): a socket bound to the exact address
// beats a wildcard; among wildcards with SO_REUSEADDR the one bound last takes unicast
// datagrams; a connected socket takes its peer's datagrams before any unconnected one; with
// SO_REUSEPORT one sender's datagrams all reach the same socket of the group.
#include "tst_net.h"

static int udp_bound(int opt, uint32_t addr, int port)
{
	struct sockaddr_in a;
	int one = 1, s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	setsockopt(s, SOL_SOCKET, opt, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(addr);
	a.sin_port = htons(port);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0)
		return -1;
	return s;
}

// Sends one datagram from tx to 127.0.0.1:port, then says which of s[0..n] has it ('a' for
// s[0]...; '-' for none).
static char who(int tx, int port, const int *s, int n)
{
	struct sockaddr_in to = lo4(port);
	char buf[8], got = '-';

	sendto(tx, "x", 1, 0, (struct sockaddr *)&to, sizeof(to));
	for (int i = 0; i < n; i++)
		if (recv(s[i], buf, sizeof(buf), MSG_DONTWAIT) == 1 && got == '-')
			got = 'a' + i;
	return got;
}

int main(void)
{
	int s[4], tx, tx2, port, n, same;
	char seen[8];
	struct sockaddr_in a;

	s[0] = udp_bound(SO_REUSEADDR, INADDR_ANY, 0);
	port = bound_port(s[0]);
	s[1] = udp_bound(SO_REUSEADDR, INADDR_ANY, port);
	s[2] = udp_bound(SO_REUSEADDR, INADDR_LOOPBACK, port);
	tst_check(s[0] >= 0 && s[1] >= 0 && s[2] >= 0, "three SO_REUSEADDR sockets on one port");
	tx = socket(AF_INET, SOCK_DGRAM, 0);
	tx2 = socket(AF_INET, SOCK_DGRAM, 0);
	tst_check(who(tx, port, s, 3) == 'c', "the exact address beats the wildcards");
	close(s[2]);
	tst_check(who(tx, port, s, 2) == 'b', "then the wildcard bound last");
	a = lo4(0);
	bind(tx, (struct sockaddr *)&a, sizeof(a));
	a = lo4(bound_port(tx));
	tst_check(connect(s[0], (struct sockaddr *)&a, sizeof(a)) == 0, "connect the first");
	tst_check(who(tx, port, s, 2) == 'a', "its peer's datagrams reach the connected one");
	tst_check(who(tx2, port, s, 2) == 'b', "others' the unconnected one");
	close(s[0]);
	close(s[1]);

	s[0] = udp_bound(SO_REUSEPORT, INADDR_ANY, 0);
	port = bound_port(s[0]);
	for (int i = 1; i < 4; i++)
		s[i] = udp_bound(SO_REUSEPORT, INADDR_ANY, port);
	tst_check(s[1] >= 0 && s[2] >= 0 && s[3] >= 0, "four SO_REUSEPORT sockets on one port");
	same = 1;
	for (n = 0; n < 8; n++) {
		seen[n] = who(tx, port, s, 4);
		same &= seen[n] != '-' && seen[n] == seen[0];
	}
	tst_check(same, "one sender's datagrams all reach one socket of the group");
	for (int i = 0; i < 4; i++)
		close(s[i]);
	close(tx);
	close(tx2);
	return tst_exit();
}
