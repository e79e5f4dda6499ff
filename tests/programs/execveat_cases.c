/* execveat cases, each in a fork child, through the execveat symbol (the library's, when it is
 * preloaded on a C library without one) and through the system call itself: prints one line per
 * case, "NAME wrapper=R syscall=R", R being "ran" (the child exec'd /bin/true, or echo printed
 * nothing else) or the errno. Without the library on glibc before 2.34 the wrapper is absent:
 * "wrapper=absent". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
extern int execveat(int, const char *, char *const[], char *const[], int) __attribute__((weak));

static int attempt(int raw, int dirfd, const char *path, int flags) {
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {"true", 0};
        if (raw) syscall(SYS_execveat, dirfd, path, argv, environ, flags);
        else execveat(dirfd, path, argv, environ, flags);
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
    if (e == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) e = 1000 + status;
    return e;
}

static void show(const char *name, int dirfd, const char *path, int flags) {
    char wrapper[32];
    if (execveat) snprintf(wrapper, sizeof wrapper, "%d", attempt(0, dirfd, path, flags));
    else snprintf(wrapper, sizeof wrapper, "absent");
    printf("%s wrapper=%s syscall=%d\n", name, wrapper, attempt(1, dirfd, path, flags));
    fflush(stdout);
}

int main(void) {
    int bin = open("/bin", O_RDONLY | O_DIRECTORY);
    int truefd = open("/bin/true", O_RDONLY);
    int truepath = open("/bin/true", O_PATH);
    int truecloexec = open("/bin/true", O_RDONLY | O_CLOEXEC);
    int file = open("/etc/hostname", O_RDONLY);
    symlink("/bin/true", "execveat-link");
    show("fdcwd-absolute", AT_FDCWD, "/bin/true", 0);
    show("dirfd-relative", bin, "true", 0);
    show("empty-path-fd", truefd, "", AT_EMPTY_PATH);
    show("empty-path-opath", truepath, "", AT_EMPTY_PATH);
    show("empty-path-cloexec", truecloexec, "", AT_EMPTY_PATH);
    show("empty-path-no-flag", truefd, "", 0);
    show("symlink-nofollow", AT_FDCWD, "execveat-link", AT_SYMLINK_NOFOLLOW);
    show("symlink-follow", AT_FDCWD, "execveat-link", 0);
    show("enoent", bin, "no-such-program", 0);
    show("enotdir", file, "true", 0);
    show("ebadf", 12345, "true", 0);
    show("ebadf-absolute", 12345, "/bin/true", 0);
    show("bad-flags", AT_FDCWD, "/bin/true", 0x40000000);
    show("eacces-dir", AT_FDCWD, "/bin", 0);
    show("null-path", AT_FDCWD, NULL, 0);
    unlink("execveat-link");
    return 0;
}
