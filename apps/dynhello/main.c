/* dynhello: a dynamically linked glibc program for oxv's app tests (see README.md). */
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *greet(void);

static __thread int tls_value = 7;

static void *worker(void *arg)
{
    int *out = arg;
    tls_value += 100; /* this thread's copy only */
    *out = tls_value;
    return NULL;
}

int main(int argc, char **argv)
{
    printf("%s\n", greet());
    printf("%s\n", greet());

    volatile double two = 2.0; /* not folded at compile time: libm's sqrt runs */
    printf("sqrt(2) = %.6f\n", sqrt(two));

    struct passwd *pw = getpwuid(0);
    printf("uid 0 is %s\n", pw ? pw->pw_name : "(unknown)");

    void *plugin = dlopen("libplugin.so", RTLD_NOW);
    if (!plugin) {
        printf("dlopen failed: %s\n", dlerror());
        return 1;
    }
    int (*answer)(int) = (int (*)(int))dlsym(plugin, "plugin_answer");
    printf("plugin says %d\n", answer ? answer(7) : -1);
    dlclose(plugin);

    pthread_t t;
    int from_thread = 0;
    if (pthread_create(&t, NULL, worker, &from_thread) != 0 || pthread_join(t, NULL) != 0) {
        printf("thread failed\n");
        return 1;
    }
    printf("tls: thread %d, main %d\n", from_thread, tls_value);

    const char *path = "/tmp/dynhello.txt";
    FILE *f = fopen(path, "w");
    if (!f || fprintf(f, "%d args\n", argc) < 0 || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    char line[64] = "";
    f = fopen(path, "r");
    if (!f || !fgets(line, sizeof line, f)) {
        perror(path);
        return 1;
    }
    fclose(f);
    printf("file: %s", line);
    printf("argv[1] = %s\n", argc > 1 ? argv[1] : "(none)");
    return 3;
}
