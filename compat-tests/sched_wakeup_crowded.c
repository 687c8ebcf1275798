// sched_wakeup.c with three spinning threads: two of them wait in the CPU's run queue
// whenever the sleeper wakes, and the sleeper must still run within 5 ms (see there).
#define SPINNERS 3
#include "sched_wakeup.c"
