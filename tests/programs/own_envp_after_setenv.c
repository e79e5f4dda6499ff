/* Calls setenv SETS times (so libc grows, moves and frees its environment
 * array again and again), then for each array size from 1 to MAX pointers
 * mallocs an envp of its own, {"ONLY=this", NULL}, and in a forked child
 * execve's `/usr/bin/env -0` with it. After each child, writes
 * "@@END@@\0" to stdout. On stderr: how many of those envp arrays landed at
 * an address where libc's environment array had been (and was freed).
 *
 * usage: own_envp_after_setenv [SETS [MAX]] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char **replaced[4096];
static int nreplaced;

static int was_environ(char **array) {
    for (int i = 0; i < nreplaced; i++)
        if (replaced[i] == array) return 1;
    return 0;
}

int main(int argc, char **argv) {
    int sets = argc > 1 ? atoi(argv[1]) : 120;
    int max = argc > 2 ? atoi(argv[2]) : 160;
    char name[32];
    for (int i = 0; i < sets; i++) {
        char **before = environ;
        snprintf(name, sizeof name, "SET_%d", i);
        setenv(name, "v", 1);
        if (environ != before && nreplaced < 4096) replaced[nreplaced++] = before;
    }
    int hits = 0;
    for (int n = 2; n <= max; n++) {
        char **envp = malloc(n * sizeof(char *)); /* not calloc: glibc's calloc skips the tcache */
        if (!envp) return 1;
        memset(envp, 0, n * sizeof(char *));
        envp[0] = "ONLY=this";
        hits += was_environ(envp);
        pid_t pid = fork();
        if (pid == 0) {
            char *args[] = {"env", "-0", NULL};
            execve("/usr/bin/env", args, envp);
            _exit(127);
        }
        int status;
        waitpid(pid, &status, 0);
        if (write(1, "@@END@@", 8) != 8) return 1;
        free(envp);
    }
    fprintf(stderr, "own_envp_after_setenv: %d of %d envp arrays at a replaced environ's address (%d replaced)\n",
            hits, max - 1, nreplaced);
    return 0;
}
