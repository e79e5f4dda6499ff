/* Execs from contexts with little room or unusual sharing; prints one line
 * per mode, the same with and without the library when all is well.
 *   small-stack MODE: a thread with a 16 KiB stack starts /bin/true
 *                     (MODE: posix_spawn, system, vfork, fork)
 *   signal-stack:     execve("/bin/true") from a handler on an 8 KiB sigaltstack
 *   clone-cleartid N: N variables, then a clone(CLONE_VM|CLONE_CHILD_CLEARTID)
 *                     child execs; the parent waits for the kernel to clear ctid
 *   signal-setenv:    a handler calls setenv while the main thread spawns */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
static char *true_argv[] = {"true", NULL};
static const char *mode;

static int reap(pid_t pid) {
    int status;
    return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}

static void *small(void *arg) {
    (void)arg;
    long r = 99;
    pid_t pid;
    if (!strcmp(mode, "posix_spawn")) r = posix_spawn(&pid, "/bin/true", NULL, NULL, true_argv, environ) ? 98 : reap(pid);
    else if (!strcmp(mode, "system")) r = WEXITSTATUS(system("true"));
    else if (!strcmp(mode, "vfork")) { pid = vfork(); if (!pid) { execve("/bin/true", true_argv, environ); _exit(127); } r = reap(pid); }
    else if (!strcmp(mode, "fork")) { pid = fork(); if (!pid) { execve("/bin/true", true_argv, environ); _exit(127); } r = reap(pid); }
    return (void *)r;
}

static void exec_in_handler(int signal) {
    (void)signal;
    execve("/bin/true", true_argv, environ);
    _exit(127);
}

static volatile pid_t ctid;
static int clone_child(void *arg) {
    (void)arg;
    execve("/bin/true", true_argv, environ);
    _exit(127);
}

static volatile unsigned handled;
static void setenv_in_handler(int signal) {
    (void)signal;
    char name[32];
    snprintf(name, sizeof name, "FROM_HANDLER_%u", handled++ % 64);
    setenv(name, "x", 1);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    if (!strcmp(argv[1], "small-stack") && argc > 2) {
        mode = argv[2];
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 16 * 1024);
        pthread_t thread;
        void *result;
        if (pthread_create(&thread, &attr, small, NULL)) return 3;
        pthread_join(thread, &result);
        printf("small-stack %s: %ld\n", mode, (long)result);
        return 0;
    }
    if (!strcmp(argv[1], "signal-stack")) {
        fflush(stdout);
        stack_t alt = {.ss_sp = malloc(8192), .ss_size = 8192};
        sigaltstack(&alt, NULL);
        struct sigaction action = {.sa_handler = exec_in_handler, .sa_flags = SA_ONSTACK};
        sigaction(SIGUSR1, &action, NULL);
        raise(SIGUSR1);
        return 1;
    }
    if (!strcmp(argv[1], "clone-cleartid") && argc > 2) {
        char name[32], value[128];
        memset(value, 'v', sizeof value - 1);
        value[sizeof value - 1] = 0;
        for (int i = 0; i < atoi(argv[2]); i++) { snprintf(name, sizeof name, "PAD_%d", i); setenv(name, value, 1); }
        size_t size = 256 * 1024;
        char *stack = malloc(size);
        /* PARENT_SETTID: ctid holds the child's id before the child runs (and can exec). */
        int flags = CLONE_VM | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD;
        pid_t pid = clone(clone_child, stack + size, flags, NULL, (pid_t *)&ctid, NULL, (pid_t *)&ctid);
        if (pid < 0) return 3;
        struct timespec wait = {5, 0};
        while (ctid != 0) {
            if (syscall(SYS_futex, &ctid, FUTEX_WAIT, ctid, &wait, NULL, 0) < 0 && errno == ETIMEDOUT) break;
        }
        printf("clone-cleartid: ctid %s, child %d\n", ctid ? "never cleared" : "cleared", reap(pid));
        return 0;
    }
    if (!strcmp(argv[1], "signal-setenv")) {
        struct sigaction action = {.sa_handler = setenv_in_handler, .sa_flags = SA_RESTART};
        sigaction(SIGALRM, &action, NULL);
        struct itimerval every = {{0, 200}, {0, 200}};
        setitimer(ITIMER_REAL, &every, NULL);
        int failed = 0;
        for (int i = 0; i < 300; i++) {
            pid_t pid;
            if (posix_spawn(&pid, "/bin/true", NULL, NULL, true_argv, environ) || reap(pid)) failed++;
        }
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(ITIMER_REAL, &off, NULL);
        printf("signal-setenv: %d failed\n", failed);
        return 0;
    }
    return 2;
}
