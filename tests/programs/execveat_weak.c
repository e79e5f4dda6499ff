/* A program written for C libraries with and without the execveat wrapper
 * (glibc 2.34 added it): a weak reference says whether there is one; without,
 * it makes the system call itself. It execs /bin/echo "ran echo" either way
 * and says which path it took; on a failure it prints the error, exit 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;
extern int execveat(int, const char *, char *const[], char *const[], int) __attribute__((weak));

int main(void) {
    char *argv[] = {"echo", "ran echo", 0};
    if (execveat) {
        printf("the wrapper\n");
        fflush(stdout);
        execveat(AT_FDCWD, "/bin/echo", argv, environ, 0);
        printf("the wrapper failed: %s\n", strerror(errno));
        return 1;
    }
    printf("the system call\n");
    fflush(stdout);
    syscall(SYS_execveat, AT_FDCWD, "/bin/echo", argv, environ, 0);
    printf("the system call failed: %s\n", strerror(errno));
    return 1;
}
