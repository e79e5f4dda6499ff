/* Built with `cc -static`, so no preload ever runs in it: an intermediary that
 * envtrack cannot see. `static_fanout N PROGRAM ARGS...` starts PROGRAM N times,
 * one after another (fork, then execve with this process's own environ), and
 * prints each child's exit status. `static_fanout 0` just exits 0.
 * Exit status 0 when every child exited 0. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
    int count = argc > 1 ? atoi(argv[1]) : 0;
    if (count > 0 && argc < 3) {
        fprintf(stderr, "usage: static_fanout N PROGRAM ARGS...\n");
        return 2;
    }
    int failed = 0;
    for (int i = 0; i < count; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) return 3;
        if (pid == 0) {
            execve(argv[2], argv + 2, environ);
            _exit(127);
        }
        int status;
        if (waitpid(pid, &status, 0) < 0) return 4;
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        printf("FANOUT child %d exit %d\n", i + 1, code);
        failed |= code != 0;
    }
    fflush(stdout);
    return failed;
}
