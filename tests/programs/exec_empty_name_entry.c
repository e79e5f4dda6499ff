/* exec_empty_name_entry PROGRAM ARGS...: execs PROGRAM with an environment
 * holding an entry with an empty name ("=x", which the kernel passes on as it
 * is) among ordinary ones, and this program's LD_PRELOAD. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    static char preload[4096];
    const char *lib = getenv("LD_PRELOAD");
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", lib ? lib : "");
    char *envp[] = {"A=1", "=x", "B=2", "PATH=/usr/bin:/bin", preload, NULL};
    execve(argv[1], argv + 1, envp);
    perror("execve");
    return 127;
}
