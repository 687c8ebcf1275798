// getaddrinfo(3) for "localhost" with a numeric service, through libc's resolver and
// /etc/hosts (oxv writes one when the image has none): an AF_INET query gives 127.0.0.1 and
// the port; AI_NUMERICHOST parses "127.0.0.1" and "::1" without a lookup; a TCP socket
// connects to the first result of "localhost" on a listener there.
#include "tst_net.h"

#include <netdb.h>

int main(void)
{
	struct addrinfo hints, *res = NULL, *r;
	char port[16];
	int lport, l, c, ok = 0, rc;

	l = tcp_listener(&lport, 4);
	snprintf(port, sizeof(port), "%d", lport);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo("localhost", port, &hints, &res);
	tst_check(rc == 0 && res, "getaddrinfo(\"localhost\", AF_INET)");
	for (r = res; rc == 0 && r; r = r->ai_next) {
		struct sockaddr_in *a = (struct sockaddr_in *)r->ai_addr;

		ok += r->ai_family == AF_INET && a->sin_addr.s_addr == htonl(INADDR_LOOPBACK) &&
		      ntohs(a->sin_port) == lport && r->ai_socktype == SOCK_STREAM;
	}
	tst_check(ok >= 1, "127.0.0.1 with the port");
	c = res ? socket(res->ai_family, res->ai_socktype, res->ai_protocol) : -1;
	tst_check(c >= 0 && connect(c, res->ai_addr, res->ai_addrlen) == 0,
		  "connect to the first result");
	if (res)
		freeaddrinfo(res);
	close(c);

	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = AI_NUMERICHOST;
	res = NULL;
	tst_check(getaddrinfo("::1", port, &hints, &res) == 0 && res &&
			  res->ai_family == AF_INET6, "AI_NUMERICHOST ::1");
	if (res)
		freeaddrinfo(res);
	res = NULL;
	tst_check(getaddrinfo("127.0.0.1", NULL, &hints, &res) == 0 && res &&
			  res->ai_family == AF_INET, "AI_NUMERICHOST 127.0.0.1");
	if (res)
		freeaddrinfo(res);
	tst_check(getaddrinfo("not a number", NULL, &hints, &res) == EAI_NONAME,
		  "AI_NUMERICHOST with a name: EAI_NONAME");
	close(l);
	return tst_exit();
}
