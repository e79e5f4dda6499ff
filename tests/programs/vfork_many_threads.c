/* THREADS threads at once each vfork + execve("/bin/true", environ), ITERS
 * times per round, for ROUNDS rounds, with VARS variables set beforehand (so
 * every build is past the library's stack buffer). Prints the resident set
 * after each round: "round R rss_kib K". Exits non-zero if a child failed. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static int iterations;
static volatile int failures;

static void *launch(void *arg) {
    (void)arg;
    char *argv[] = {"true", NULL};
    for (int i = 0; i < iterations; i++) {
        pid_t pid = vfork();
        if (pid == 0) {
            execve("/bin/true", argv, environ);
            _exit(127);
        }
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            __sync_fetch_and_add(&failures, 1);
    }
    return NULL;
}

static long rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kib = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return kib;
}

int main(int argc, char **argv) {
    if (argc < 5) return 2;
    int threads = atoi(argv[1]), vars = atoi(argv[2]), rounds = atoi(argv[4]);
    iterations = atoi(argv[3]);
    char name[32], value[64];
    for (int i = 0; i < vars; i++) {
        snprintf(name, sizeof name, "MANY_%d", i);
        snprintf(value, sizeof value, "value-%d", i);
        setenv(name, value, 1);
    }
    pthread_t *ids = calloc(threads, sizeof *ids);
    for (int r = 0; r < rounds; r++) {
        for (int t = 0; t < threads; t++) pthread_create(&ids[t], NULL, launch, NULL);
        for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL);
        printf("round %d rss_kib %ld\n", r, rss_kib());
    }
    printf("failures %d\n", failures);
    return failures ? 1 : 0;
}
