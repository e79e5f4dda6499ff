/* Edge cases of the exec hooks: NULL and empty envp, a failed exec keeps
 * errno, duplicate keys, entries without '=', non-UTF-8 bytes, an exec after
 * clearenv freed the array libc had made. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *mode = argv[1];
    char *args[] = {"env", "-0", NULL};
    if (!strcmp(mode, "clearenv-exec")) {
        /* Started with nothing inherited: setenv of an untracked name makes
         * libc allocate a new array, clearenv frees it and records nothing. */
        setenv("PWD", "/somewhere", 1);
        clearenv();
        execv("/usr/bin/env", args);
        fprintf(stderr, "%s: %s\n", mode, strerror(errno));
        return 99;
    }
    setenv("TRACKED", "t", 1);
    if (!strcmp(mode, "null-envp")) execve("/usr/bin/env", args, NULL);
    else if (!strcmp(mode, "empty-envp")) { char *e[] = {NULL}; execve("/usr/bin/env", args, e); }
    else if (!strcmp(mode, "null-argv")) {
        /* env with argc == 0 prints the environment (no -0: newline-separated). */
        execve("/usr/bin/env", NULL, NULL);
    } else if (!strcmp(mode, "errno")) {
        errno = 0;
        int r = execve("/nonexistent/program", args, NULL);
        int e1 = errno;
        errno = 0;
        r += execvp("no-such-program-anywhere", args);
        int e2 = errno;
        errno = 0;
        r += execl("/etc/passwd", "passwd", (char *)NULL);
        int e3 = errno;
        printf("%d %d %d %d\n", r, e1, e2, e3);
        return 0;
    } else if (!strcmp(mode, "duplicates")) {
        char *e[] = {"DUP=first", "LD_PRELOAD=/nonexistent/other.so", "DUP=second", "TRACKED=mine", "TRACKED=again",
                     "NOEQUALS", "RAW=\xff\xfe\n", "LD_PRELOAD=/nonexistent/last.so", NULL};
        execve("/usr/bin/env", args, e);
    }
    fprintf(stderr, "%s: %s\n", mode, strerror(errno));
    return 99;
}
