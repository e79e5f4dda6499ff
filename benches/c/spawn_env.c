/* posix_spawn's cost in the parent, by the size of the child's environment.
 *
 * Usage: spawn_env K
 *
 * main() builds an environment array of K entries "BENCH_K_<i>=value_<i>"
 * (nothing else: no PATH, no inherited variable). bench_spawn() then spawns
 * /bin/true once with it and waits for it. run.sh measures bench_spawn alone
 * with `valgrind --tool=callgrind --toggle-collect=bench_spawn` and without
 * --trace-children, so only the parent's instructions count: glibc's
 * posix_spawn and waitpid and, under LD_PRELOAD=libenvtrack.so, the building
 * of the child's environment, which happens in the parent before the real
 * posix_spawn. Subtracting the run without a preload leaves what the preload
 * adds per spawn; over several K, the slope is its cost per variable.
 *
 * Build: gcc -O2 -o spawn_env spawn_env.c */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* Measured: one spawn of /bin/true with `env`, and the wait for it. */
__attribute__((noinline, noclone)) int bench_spawn(char *const env[]) {
    char *const argv[] = {"true", NULL};
    pid_t pid;
    int error = posix_spawn(&pid, "/bin/true", NULL, NULL, argv, env);
    if (error != 0) {
        fprintf(stderr, "posix_spawn: %s\n", strerror(error));
        return -1;
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) {
        perror("waitpid");
        return -1;
    }
    return status;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s K\n", argv[0]);
        return 2;
    }
    long k = strtol(argv[1], NULL, 10);
    if (k < 0 || k > 1000000) {
        fprintf(stderr, "%s: K must be in 0..1000000\n", argv[0]);
        return 2;
    }
    char **env = calloc((size_t)k + 1, sizeof *env);
    if (env == NULL) {
        perror("calloc");
        return 1;
    }
    for (long i = 0; i < k; i++) {
        char entry[64];
        snprintf(entry, sizeof entry, "BENCH_K_%ld=value_%ld", i, i);
        if ((env[i] = strdup(entry)) == NULL) {
            perror("strdup");
            return 1;
        }
    }
    int status = bench_spawn(env);
    if (status != 0) {
        fprintf(stderr, "%s: /bin/true did not exit 0 (wait status %d)\n", argv[0], status);
        return 1;
    }
    return 0;
}
