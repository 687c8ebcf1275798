/* libgreet.so: found by dynhello through DT_RPATH=$ORIGIN/../lib. */
#include <stdio.h>

static int calls;

const char *greet(void)
{
    static char buf[64];
    snprintf(buf, sizeof buf, "hello from libgreet (call %d)", ++calls);
    return buf;
}
