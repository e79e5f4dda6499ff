/* For environments of growing size around the kernel's limit: does execvpe("mpirun") (hooked)
 * run whenever the raw execve system call of the same file with the same arguments and
 * environment (what the exec is without envtrack) runs? argv[1]: the full path execvpe finds.
 * Prints "mismatch N errno E" for a size that runs without envtrack and fails with it, then
 * "checked K". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char *pads[64];
static char *envp[70];

/* The environment: PATH and n bytes of padding in variables of at most 100000 bytes. */
static void make_env(size_t n) {
    int at = 0;
    static char path[4096];
    snprintf(path, sizeof path, "PATH=%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    envp[at++] = path;
    for (int i = 0; n > 0 && i < 64; i++) {
        size_t len = n > 100000 ? 100000 : n;
        n -= len;
        free(pads[i]);
        pads[i] = malloc(len + 8);
        snprintf(pads[i], 8, "P%02d=", i);
        memset(pads[i] + 4, 'x', len);
        pads[i][len + 4] = 0;
        envp[at++] = pads[i];
    }
    envp[at] = NULL;
}

/* 0 if the child exec'd and exited 0, else the errno it reported (or 255). */
static int try_exec(const char *path, int raw) {
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) return 255;
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {"mpirun", "x", NULL};
        if (raw) syscall(SYS_execve, path, argv, envp);
        else execvpe("mpirun", argv, envp);
        int e = errno;
        (void)!write(pipefd[1], &e, sizeof e);
        _exit(127);
    }
    close(pipefd[1]);
    int e = 0;
    if (read(pipefd[0], &e, sizeof e) != sizeof e) e = 0;
    close(pipefd[0]);
    int status;
    waitpid(pid, &status, 0);
    if (e == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) e = 255;
    return e;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    size_t lo = 100000, hi = 8 << 20;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        make_env(mid);
        if (try_exec(argv[1], 1) == 0) lo = mid; else hi = mid;
    }
    int checked = 0;
    for (size_t n = lo; n + 1200 > lo && n > 1200; n -= 4) {
        make_env(n);
        if (try_exec(argv[1], 1) != 0) continue;
        int e = try_exec(argv[1], 0);
        checked++;
        if (e != 0) printf("mismatch %zu errno %d\n", n, e);
    }
    printf("checked %d\n", checked);
    return 0;
}
