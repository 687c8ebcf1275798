// UDP over the IPv4 loopback: bind to port 0 gets an ephemeral port; datagrams keep their
// boundaries; a short buffer truncates (MSG_TRUNC in msg_flags, the real length with
// MSG_TRUNC in flags); MSG_PEEK leaves the datagram; recvfrom reports the sender; FIONREAD
// is the next datagram's size; a connected socket takes only its peer's datagrams and can
// send without an address; sending without one on an unconnected socket is EDESTADDRREQ;
// a payload over 65507 bytes is EMSGSIZE; connect to AF_UNSPEC dissolves the association.
#include "tst_net.h"

#include <sys/ioctl.h>

int main(void)
{
	struct sockaddr_in a, b_addr, from;
	socklen_t len;
	char buf[64];
	static char big[65508];
	struct iovec iov = { buf, 5 };
	struct msghdr m;
	int sa, sb, sc, n, avail = -1;

	sa = socket(AF_INET, SOCK_DGRAM, 0);
	sb = socket(AF_INET, SOCK_DGRAM, 0);
	sc = socket(AF_INET, SOCK_DGRAM, 0);
	a = lo4(0);
	tst_check(bind(sb, (struct sockaddr *)&a, sizeof(a)) == 0, "bind 127.0.0.1:0");
	tst_check(bound_port(sb) > 0, "getsockname shows an ephemeral port");
	b_addr = lo4(bound_port(sb));

	tst_check(sendto(sa, "first datagram", 14, 0, (struct sockaddr *)&b_addr,
			 sizeof(b_addr)) == 14, "sendto 14 bytes");
	tst_check(bound_port(sa) > 0, "the sender was bound to an ephemeral port");
	tst_check(sendto(sa, "second", 6, 0, (struct sockaddr *)&b_addr, sizeof(b_addr)) == 6,
		  "sendto 6 bytes");
	tst_check(ioctl(sb, FIONREAD, &avail) == 0 && avail == 14, "FIONREAD: the next datagram");

	memset(&m, 0, sizeof(m));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	n = recvmsg(sb, &m, 0);
	tst_check(n == 5 && memcmp(buf, "first", 5) == 0, "a 5-byte buffer gets 5 bytes");
	tst_check(m.msg_flags & MSG_TRUNC, "msg_flags has MSG_TRUNC");

	n = recv(sb, buf, 2, MSG_PEEK | MSG_TRUNC);
	tst_check(n == 6, "MSG_PEEK|MSG_TRUNC returns the whole length");
	len = sizeof(from);
	n = recvfrom(sb, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
	tst_check(n == 6 && memcmp(buf, "second", 6) == 0, "the peeked datagram is still there");
	tst_check(len == sizeof(from) && from.sin_family == AF_INET &&
			  from.sin_addr.s_addr == htonl(INADDR_LOOPBACK) &&
			  ntohs(from.sin_port) == bound_port(sa),
		  "recvfrom reports the sender's address and port");
	NET_ERR("nothing left (MSG_DONTWAIT)", recv(sb, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);

	NET_ERR("send without an address", send(sa, "x", 1, 0), EDESTADDRREQ);
	NET_ERR("65508 bytes", sendto(sa, big, sizeof(big), 0, (struct sockaddr *)&b_addr,
				      sizeof(b_addr)), EMSGSIZE);
	tst_check(sendto(sa, big, sizeof(big) - 1, 0, (struct sockaddr *)&b_addr,
			 sizeof(b_addr)) == 65507, "65507 bytes go");
	tst_check(recv(sb, big, sizeof(big), 0) == 65507, "and arrive whole");

	a = lo4(bound_port(sa));
	tst_check(connect(sb, (struct sockaddr *)&a, sizeof(a)) == 0, "connect to the sender");
	sendto(sc, "stranger", 8, 0, (struct sockaddr *)&b_addr, sizeof(b_addr));
	sendto(sa, "friend", 6, 0, (struct sockaddr *)&b_addr, sizeof(b_addr));
	n = recv(sb, buf, sizeof(buf), MSG_DONTWAIT);
	tst_check(n == 6 && memcmp(buf, "friend", 6) == 0, "a connected socket takes only its peer's");
	tst_check(send(sb, "back", 4, 0) == 4, "send without an address when connected");
	n = recv(sa, buf, sizeof(buf), 0);
	tst_check(n == 4 && memcmp(buf, "back", 4) == 0, "the reply arrives");
	len = sizeof(from);
	tst_check(getpeername(sb, (struct sockaddr *)&from, &len) == 0 &&
			  ntohs(from.sin_port) == bound_port(sa), "getpeername");
	len = sizeof(from);
	getsockname(sb, (struct sockaddr *)&from, &len);
	tst_check(from.sin_addr.s_addr == htonl(INADDR_LOOPBACK), "getsockname: 127.0.0.1");

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_UNSPEC;
	tst_check(connect(sb, (struct sockaddr *)&a, sizeof(a)) == 0, "connect AF_UNSPEC");
	len = sizeof(from);
	NET_ERR("getpeername after", getpeername(sb, (struct sockaddr *)&from, &len), ENOTCONN);
	NET_ERR("getpeername on an unconnected socket",
		getpeername(sc, (struct sockaddr *)&from, &len), ENOTCONN);
	close(sa);
	close(sb);
	close(sc);
	return tst_exit();
}
