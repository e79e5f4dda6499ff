/* Sets TRACKED=1, then starts NAME --version by name (searching PATH) with
 * execvp or posix_spawnp. Prints `execvp returned R errno E` if execvp
 * returns; `posix_spawnp returned R`, then `child exit S` when it started a
 * child. Exits 0 after printing.
 *
 * usage: exec_by_name execvp|posix_spawnp NAME */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc < 3) return 64;
    setenv("TRACKED", "1", 1);
    char *args[] = {argv[2], "--version", NULL};
    setvbuf(stdout, NULL, _IONBF, 0);
    if (!strcmp(argv[1], "execvp")) {
        int r = execvp(argv[2], args);
        int e = errno;
        printf("execvp returned %d errno %d\n", r, e);
        return 0;
    }
    pid_t pid;
    int r = posix_spawnp(&pid, argv[2], NULL, NULL, args, environ);
    printf("posix_spawnp returned %d\n", r);
    if (r == 0) {
        int status;
        waitpid(pid, &status, 0);
        printf("child exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
    return 0;
}
