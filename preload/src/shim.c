/* The variadic exec functions, which stable Rust cannot define. Each counts
 * its arguments, copies them into an array on its own stack (in the same
 * function: passing a va_list on is not portable), and calls the
 * array-taking hook, which this library also defines. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>

#define ENVTRACK_MAX_ARGS 65536

#define COLLECT_ARGS(first, argv, argc)                         \
    size_t argc = 1;                                            \
    {                                                           \
        va_list count;                                          \
        va_start(count, first);                                 \
        while (va_arg(count, const char *) != NULL) {           \
            if (++argc > ENVTRACK_MAX_ARGS) {                   \
                va_end(count);                                  \
                errno = E2BIG;                                  \
                return -1;                                      \
            }                                                   \
        }                                                       \
        va_end(count);                                          \
    }                                                           \
    const char *argv[argc + 1];                                 \
    argv[0] = first;

int execl(const char *path, const char *arg, ...) {
    COLLECT_ARGS(arg, argv, argc)
    va_list args;
    va_start(args, arg);
    for (size_t i = 1; i <= argc; i++) argv[i] = va_arg(args, const char *);
    va_end(args);
    return execv(path, (char *const *)argv);
}

int execlp(const char *file, const char *arg, ...) {
    COLLECT_ARGS(arg, argv, argc)
    va_list args;
    va_start(args, arg);
    for (size_t i = 1; i <= argc; i++) argv[i] = va_arg(args, const char *);
    va_end(args);
    return execvp(file, (char *const *)argv);
}

int execle(const char *path, const char *arg, ...) {
    COLLECT_ARGS(arg, argv, argc)
    va_list args;
    va_start(args, arg);
    for (size_t i = 1; i <= argc; i++) argv[i] = va_arg(args, const char *);
    char *const *envp = va_arg(args, char *const *);
    va_end(args);
    return execve(path, (char *const *)argv, envp);
}
