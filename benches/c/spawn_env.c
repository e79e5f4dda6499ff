/* posix_spawn's cost in the parent, by the size of the child's environment.
 *
 * Usage: spawn_env K [envp|environ]
 *
 * envp (the default): main() builds an environment array of K entries
 * "BENCH_K_<i>=value_<i>" (nothing else: no PATH, no inherited variable) and
 * bench_spawn() spawns /bin/true once with it, an explicit envp, and waits
 * for it.
 *
 * environ: the K entries are the process's own environment, given to it by
 * whoever started it (spawn_cost.sh: env -i and those K entries, nothing
 * else); main() checks that environ holds them (and few others), and
 * bench_spawn() spawns with `environ`, as a program does that passes its own
 * environment on (system(), Python's subprocess without env=). The library
 * reads environ by another path than an explicit envp (a copy of the array
 * taken under its environment lock). The entries are inherited, not set: no
 * tracked change, so the library has the same K entries to copy as in envp
 * mode (and the few valgrind adds to every client's environment), and no
 * more state to write.
 *
 * run.sh measures bench_spawn alone with `valgrind --tool=callgrind
 * --toggle-collect=bench_spawn` and without --trace-children, so only the
 * parent's instructions count: glibc's posix_spawn and waitpid and, under
 * LD_PRELOAD=libenvtrack.so, the building of the child's environment, which
 * happens in the parent before the real posix_spawn. Subtracting the run
 * without a preload leaves what the preload adds per spawn; over several K,
 * the slope is its cost per variable.
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

extern char **environ;

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "envp") != 0 && strcmp(argv[2], "environ") != 0)) {
        fprintf(stderr, "usage: %s K [envp|environ]\n", argv[0]);
        return 2;
    }
    long k = strtol(argv[1], NULL, 10);
    if (k < 0 || k > 1000000) {
        fprintf(stderr, "%s: K must be in 0..1000000\n", argv[0]);
        return 2;
    }
    char **env;
    if (argc == 3 && strcmp(argv[2], "environ") == 0) {
        /* The K entries must all be there (in any order: valgrind's
         * launcher, a shell script, passes the environment on in its own);
         * anything else (LD_PRELOAD, valgrind's own variables) may be too,
         * a few. */
        char *seen = calloc((size_t)k + 1, 1);
        if (seen == NULL) {
            perror("calloc");
            return 1;
        }
        long found = 0, other = 0;
        for (char **e = environ; *e != NULL; e++) {
            char *end = NULL;
            long i = -1;
            if (strncmp(*e, "BENCH_K_", 8) == 0)
                i = strtol(*e + 8, &end, 10);
            char value[32];
            snprintf(value, sizeof value, "=value_%ld", i);
            if (i >= 0 && i < k && !seen[i] && strcmp(end, value) == 0) {
                seen[i] = 1;
                found++;
            } else {
                other++;
            }
        }
        free(seen);
        if (found != k) {
            fprintf(stderr, "%s: environ holds %ld of the %ld entries BENCH_K_<i>=value_<i>\n", argv[0], found, k);
            return 1;
        }
        if (other > 8) {
            fprintf(stderr, "%s: environ holds %ld entries besides the %ld\n", argv[0], other, k);
            return 1;
        }
        env = environ;
    } else {
        env = calloc((size_t)k + 1, sizeof *env);
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
    }
    int status = bench_spawn(env);
    if (status != 0) {
        fprintf(stderr, "%s: /bin/true did not exit 0 (wait status %d)\n", argv[0], status);
        return 1;
    }
    return 0;
}
