/* vfork_child_killed_at_first_exec DELAY_US: a vfork child execs /bin/true
 * with an empty environment (its build is the process's first need of the
 * inherited environment and state, so the child indexes them, in memory it
 * shares with the parent) and another thread SIGKILLs it DELAY_US
 * microseconds after it starts. Then the parent sets AFTER=1 and execs
 * `/usr/bin/env -0` with an empty environment: every tracked variable must be
 * there. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile pid_t child_pid;
static long delay_us;

static void *killer(void *arg) {
    (void)arg;
    while (!child_pid) {
    }
    struct timespec pause = {delay_us / 1000000, (delay_us % 1000000) * 1000};
    nanosleep(&pause, NULL);
    kill(child_pid, SIGKILL);
    return NULL;
}

int main(int argc, char **argv) {
    delay_us = argc > 1 ? atol(argv[1]) : 0;
    pthread_t thread;
    pthread_create(&thread, NULL, killer, NULL);
    char *args[] = {"/bin/true", NULL};
    char *empty[] = {NULL};
    pid_t pid = vfork();
    if (pid == 0) {
        child_pid = getpid();
        execve("/bin/true", args, empty);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    pthread_join(thread, NULL);
    setenv("AFTER", "1", 1);
    char *env_args[] = {"/usr/bin/env", "-0", NULL};
    execve("/usr/bin/env", env_args, empty);
    return 126;
}
