// UDP over the IPv6 loopback (::1): bind [::1]:0, exchange datagrams, recvfrom reports a
// sockaddr_in6 with ::1 and the sender's port; a dual-stack socket bound to [::]:0 also
// takes IPv4 datagrams and shows their sender as an IPv4-mapped address; IPV6_V6ONLY is off
// by default, can be set before bind, and is EINVAL after.
#include "tst_net.h"

int main(void)
{
	struct sockaddr_in6 a, from;
	struct sockaddr_in v4;
	socklen_t len;
	char buf[32];
	int s6, c6, dual, c4, on = 1, v = -1, n;

	s6 = socket(AF_INET6, SOCK_DGRAM, 0);
	c6 = socket(AF_INET6, SOCK_DGRAM, 0);
	a = lo6(0);
	tst_check(bind(s6, (struct sockaddr *)&a, sizeof(a)) == 0, "bind [::1]:0");
	tst_check(bound_port(s6) > 0, "ephemeral port");
	a = lo6(bound_port(s6));
	tst_check(sendto(c6, "six", 3, 0, (struct sockaddr *)&a, sizeof(a)) == 3, "sendto [::1]");
	len = sizeof(from);
	n = recvfrom(s6, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
	tst_check(n == 3 && memcmp(buf, "six", 3) == 0, "the datagram arrives");
	tst_check(len == sizeof(from) && from.sin6_family == AF_INET6 &&
			  IN6_IS_ADDR_LOOPBACK(&from.sin6_addr) &&
			  ntohs(from.sin6_port) == bound_port(c6),
		  "from [::1] and the sender's port");

	dual = socket(AF_INET6, SOCK_DGRAM, 0);
	len = sizeof(v);
	tst_check(getsockopt(dual, IPPROTO_IPV6, IPV6_V6ONLY, &v, &len) == 0 && v == 0,
		  "IPV6_V6ONLY off by default");
	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	tst_check(bind(dual, (struct sockaddr *)&a, sizeof(a)) == 0, "bind [::]:0");
	NET_ERR("IPV6_V6ONLY after bind", setsockopt(dual, IPPROTO_IPV6, IPV6_V6ONLY, &on,
						     sizeof(on)), EINVAL);
	c4 = socket(AF_INET, SOCK_DGRAM, 0);
	v4 = lo4(bound_port(dual));
	tst_check(sendto(c4, "four", 4, 0, (struct sockaddr *)&v4, sizeof(v4)) == 4,
		  "an IPv4 sender to the dual-stack port");
	len = sizeof(from);
	n = recvfrom(dual, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
	tst_check(n == 4 && IN6_IS_ADDR_V4MAPPED(&from.sin6_addr) &&
			  from.sin6_addr.s6_addr[12] == 127 && from.sin6_addr.s6_addr[15] == 1,
		  "shown as ::ffff:127.0.0.1");
	close(s6);
	close(c6);
	close(dual);
	close(c4);
	return tst_exit();
}
