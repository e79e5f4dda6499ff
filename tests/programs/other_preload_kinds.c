/* A competing preload whose execve the loader finds in ways envtrack's own
 * symbol lookup must handle like dlsym(RTLD_NEXT) does: built with
 * -DAS_IFUNC, execve is a GNU indirect function (its symbol's value is a
 * resolver); built with -Wl,--hash-style=sysv, the library has only the old
 * System V hash table. Either way it says so and forwards to the next
 * execve, found with dlsym; or, built with -DFORWARD_BY_SYSCALL, by the
 * system call itself, so that the library needs no libdl (before glibc 2.34
 * a process that loads no libdl has no dlsym at all). */
#define _GNU_SOURCE
#include <unistd.h>
#ifdef FORWARD_BY_SYSCALL
#include <sys/syscall.h>
#else
#include <dlfcn.h>
#endif

typedef int execve_fn(const char *, char *const[], char *const[]);

static int announced_execve(const char *path, char *const argv[], char *const envp[]) {
    static const char message[] = "other_preload_kinds: execve\n";
    write(2, message, sizeof message - 1);
#ifdef FORWARD_BY_SYSCALL
    return (int)syscall(SYS_execve, path, argv, envp);
#else
    execve_fn *next = (execve_fn *)dlsym(RTLD_NEXT, "execve");
    return next(path, argv, envp);
#endif
}

#ifdef AS_IFUNC
static execve_fn *resolve_execve(void) { return announced_execve; }
int execve(const char *path, char *const argv[], char *const envp[]) __attribute__((ifunc("resolve_execve")));
#else
int execve(const char *path, char *const argv[], char *const envp[]) {
    return announced_execve(path, argv, envp);
}
#endif
