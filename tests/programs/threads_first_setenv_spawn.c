/* threads_first_setenv_spawn THREADS: the threads start together; thread i
 * sets Vnnnnn (i % 3 == 0, an inherited tracked variable) or Tnnnnn
 * (i % 3 == 1, a new one), or sets nothing, then posix_spawns
 * `/usr/bin/env -0` with an empty environment and prints, for each thread,
 * the child's output after a line "THREAD i". */
#define _GNU_SOURCE
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_barrier_t barrier;
static char **outputs;
static size_t *lengths;

static void *worker(void *arg) {
    long i = (long)arg;
    char name[32], value[32];
    pthread_barrier_wait(&barrier);
    if (i % 3 == 0) {
        snprintf(name, sizeof name, "V%05ld", i);
        snprintf(value, sizeof value, "changed%ld", i);
        setenv(name, value, 1);
    } else if (i % 3 == 1) {
        snprintf(name, sizeof name, "T%05ld", i);
        snprintf(value, sizeof value, "%ld", i);
        setenv(name, value, 1);
    }
    int fds[2];
    if (pipe(fds)) return NULL;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    char *args[] = {"/usr/bin/env", "-0", NULL};
    char *empty[] = {NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, "/usr/bin/env", &actions, NULL, args, empty);
    close(fds[1]);
    size_t cap = 1 << 22, len = 0;
    char *buf = malloc(cap);
    ssize_t n;
    while (rc == 0 && (n = read(fds[0], buf + len, cap - len)) > 0) len += n;
    close(fds[0]);
    if (rc == 0) waitpid(pid, NULL, 0);
    outputs[i] = buf;
    lengths[i] = len;
    return NULL;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 8;
    outputs = calloc(threads, sizeof *outputs);
    lengths = calloc(threads, sizeof *lengths);
    pthread_barrier_init(&barrier, NULL, threads);
    pthread_t *t = calloc(threads, sizeof *t);
    for (long i = 0; i < threads; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < threads; i++) {
        printf("THREAD %d\n", i);
        fflush(stdout);
        if (outputs[i]) fwrite(outputs[i], 1, lengths[i], stdout);
        printf("\n");
    }
    return 0;
}
