/* posix_spawn with an explicit envp holding PROBE_0..PROBE_2999=x while
 * four threads setenv/unsetenv random PROBE_ names. Each child (this
 * program with argument `count`) prints `count N` with how many PROBE_
 * entries with the value x it got.
 *
 * usage: spawn_while_setenv SPAWNS */
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NAMES 3000
#define THREADS 4

extern char **environ;
static volatile int stop;

static void *churn(void *arg) {
    unsigned seed = (unsigned)(size_t)arg * 7919u + 1;
    char name[32];
    while (!stop) {
        unsigned r = rand_r(&seed);
        snprintf(name, sizeof name, "PROBE_%u", r % NAMES);
        if (r & 0x10000)
            setenv(name, "y", 1);
        else
            unsetenv(name);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "count")) {
        int n = 0;
        for (char **e = environ; *e; e++) {
            const char *eq = strchr(*e, '=');
            if (!strncmp(*e, "PROBE_", 6) && eq && !strcmp(eq, "=x")) n++;
        }
        printf("count %d\n", n);
        return 0;
    }
    int spawns = argc > 1 ? atoi(argv[1]) : 150;
    static char *envp[NAMES + 1];
    for (int i = 0; i < NAMES; i++) {
        char entry[32];
        snprintf(entry, sizeof entry, "PROBE_%d=x", i);
        envp[i] = strdup(entry);
    }
    envp[NAMES] = NULL;
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++) pthread_create(&threads[t], NULL, churn, (void *)(size_t)t);
    char *args[] = {"spawn_while_setenv", "count", NULL};
    for (int i = 0; i < spawns; i++) {
        pid_t pid;
        fflush(stdout);
        int rc = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, args, envp);
        if (rc != 0) {
            printf("spawn failed %d\n", rc);
            continue;
        }
        int status;
        waitpid(pid, &status, 0);
    }
    stop = 1;
    for (int t = 0; t < THREADS; t++) pthread_join(threads[t], NULL);
    return 0;
}
