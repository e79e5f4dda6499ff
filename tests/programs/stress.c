/* Four threads loop setenv/unsetenv while two others start children, each
 * launch through the next of: posix_spawn, fork + execv, system(), and bash
 * (posix_spawn of `bash -c CHECKER`). Each child (check_child) checks that it
 * got a consistent tracked set. Prints
 * "launches=N failures=F rss_growth_kib=G". */
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static volatile int stop;
static int launches_per_thread;
static const char *checker;

static void *churn(void *arg) {
    long id = (long)arg;
    char name[32], value[32];
    unsigned n = 0;
    while (!stop) {
        snprintf(name, sizeof name, "CHURN_%ld_%u", id, n % 16);
        snprintf(value, sizeof value, "v%u", n % 3);
        if (n % 5 == 4) unsetenv(name); else setenv(name, value, 1);
        n++;
    }
    return NULL;
}

static long rss_kib(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int run_one(int how) {
    char *args[] = {"check_child", NULL};
    pid_t pid;
    if (how == 2) {
        int status = system(checker);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
        fprintf(stderr, "system child: status %#x\n", status);
        return 1;
    }
    if (how == 3) {
        char *bash[] = {"bash", "-c", (char *)checker, NULL};
        if (posix_spawn(&pid, "/bin/bash", NULL, NULL, bash, environ) != 0) return 1;
    } else if (how == 0) {
        int r = posix_spawn(&pid, checker, NULL, NULL, args, environ);
        if (r != 0) {
            fprintf(stderr, "posix_spawn failed: %d\n", r);
            return 1;
        }
    } else {
        pid = fork();
        if (pid == 0) {
            execv(checker, args);
            _exit(127);
        }
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) {
        fprintf(stderr, "waitpid failed\n");
        return 1;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    const char *names[] = {"posix_spawn", "fork+execv", "system", "bash"};
    fprintf(stderr, "%s child: status %#x\n", names[how], status);
    return 1;
}

static int failures;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *launch(void *arg) {
    long first = (long)arg;
    for (int i = 0; i < launches_per_thread; i++) {
        if (run_one((int)((first + i) % 4))) {
            pthread_mutex_lock(&lock);
            failures++;
            pthread_mutex_unlock(&lock);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    checker = argv[1];
    launches_per_thread = atoi(argv[2]);
    setenv("STABLE", "yes", 1);
    long before = rss_kib();
    pthread_t churners[4], launchers[2];
    for (long i = 0; i < 4; i++) pthread_create(&churners[i], NULL, churn, (void *)i);
    for (long i = 0; i < 2; i++) pthread_create(&launchers[i], NULL, launch, (void *)i);
    for (int i = 0; i < 2; i++) pthread_join(launchers[i], NULL);
    stop = 1;
    for (int i = 0; i < 4; i++) pthread_join(churners[i], NULL);
    printf("launches=%d failures=%d rss_growth_kib=%ld\n", 2 * launches_per_thread, failures, rss_kib() - before);
    return 0;
}
