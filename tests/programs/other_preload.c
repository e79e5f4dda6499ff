/* A competing preload that also hooks execve (as sandboxes and tracers do)
 * and forwards to the next definition. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <unistd.h>

int execve(const char *path, char *const argv[], char *const envp[]) {
    static const char message[] = "other_preload: execve\n";
    write(2, message, sizeof message - 1);
    int (*next)(const char *, char *const[], char *const[]) = dlsym(RTLD_NEXT, "execve");
    return next(path, argv, envp);
}
