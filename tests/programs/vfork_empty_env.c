/* usage: vfork_empty_env PROGRAM ARG...
 * Sets SET_IN_C with setenv, then vfork and, in the child, execve(PROGRAM,
 * ARG..., an empty environment). Under the library the child still gets the
 * tracked variables (the caller's and SET_IN_C). Exits with the child's exit
 * status (127: the exec failed; 126: the child was killed). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: vfork_empty_env PROGRAM ARG...\n");
        return 2;
    }
    if (setenv("SET_IN_C", "set by setenv before vfork", 1)) return 3;
    char *empty[] = {NULL};
    pid_t pid = vfork();
    if (pid == 0) {
        execve(argv[1], argv + 1, empty);
        _exit(127);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return 4;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 126;
}
