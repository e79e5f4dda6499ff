/* The C baseline for libenvtrack.so: the least a preload with the same hooks
 * can do.
 *
 * Its constructor resolves the same 15 real functions libenvtrack.so resolves,
 * with dlsym(RTLD_NEXT, ...), into static function pointers, and it defines the
 * same hooks, each forwarding to the real function and doing nothing else.
 * Loading it costs what libenvtrack.so's load would cost if libenvtrack.so did
 * no work of its own; load_cost.sh compares the two.
 *
 * A hook called before the constructor (from another library's constructor)
 * resolves its real function on the spot, as libenvtrack.so's hooks do.
 *
 * Build: gcc -O2 -shared -fPIC -o libbaseline.so baseline_preload.c */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execv_fn)(const char *, char *const[]);
typedef int (*execveat_fn)(int, const char *, char *const[], char *const[], int);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);
typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                        const posix_spawnattr_t *, char *const[], char *const[]);
typedef int (*system_fn)(const char *);
typedef FILE *(*popen_fn)(const char *, const char *);
typedef int (*pclose_fn)(FILE *);
typedef int (*setenv_fn)(const char *, const char *, int);
typedef int (*unsetenv_fn)(const char *);
typedef int (*putenv_fn)(char *);
typedef int (*clearenv_fn)(void);

static execve_fn real_execve;
static execv_fn real_execv;
static execv_fn real_execvp;
static execve_fn real_execvpe;
static execveat_fn real_execveat;
static fexecve_fn real_fexecve;
static spawn_fn real_posix_spawn;
static spawn_fn real_posix_spawnp;
static system_fn real_system;
static popen_fn real_popen;
static pclose_fn real_pclose;
static setenv_fn real_setenv;
static unsetenv_fn real_unsetenv;
static putenv_fn real_putenv;
static clearenv_fn real_clearenv;

#define RESOLVE(name) (real_##name = (__typeof__(real_##name))dlsym(RTLD_NEXT, #name))

__attribute__((constructor)) static void resolve_all(void) {
    RESOLVE(execve);
    RESOLVE(execv);
    RESOLVE(execvp);
    RESOLVE(execvpe);
    RESOLVE(execveat);
    RESOLVE(fexecve);
    RESOLVE(posix_spawn);
    RESOLVE(posix_spawnp);
    RESOLVE(system);
    RESOLVE(popen);
    RESOLVE(pclose);
    RESOLVE(setenv);
    RESOLVE(unsetenv);
    RESOLVE(putenv);
    RESOLVE(clearenv);
}

/* REAL(name): the real function, resolving it now if the constructor has not
 * run yet (one load and a well-predicted branch otherwise). */
#define GETTER(name)                                          \
    static inline __typeof__(real_##name) get_##name(void) { \
        if (__builtin_expect(real_##name == NULL, 0))         \
            RESOLVE(name);                                    \
        return real_##name;                                   \
    }
GETTER(execve)
GETTER(execv)
GETTER(execvp)
GETTER(execvpe)
GETTER(execveat)
GETTER(fexecve)
GETTER(posix_spawn)
GETTER(posix_spawnp)
GETTER(system)
GETTER(popen)
GETTER(pclose)
GETTER(setenv)
GETTER(unsetenv)
GETTER(putenv)
GETTER(clearenv)
#define REAL(name) (get_##name())

int setenv(const char *name, const char *value, int overwrite) {
    return REAL(setenv)(name, value, overwrite);
}

int unsetenv(const char *name) { return REAL(unsetenv)(name); }

int putenv(char *string) { return REAL(putenv)(string); }

int clearenv(void) { return REAL(clearenv)(); }

int execve(const char *path, char *const argv[], char *const envp[]) {
    return REAL(execve)(path, argv, envp);
}

int execv(const char *path, char *const argv[]) { return REAL(execv)(path, argv); }

int execvp(const char *file, char *const argv[]) { return REAL(execvp)(file, argv); }

int execvpe(const char *file, char *const argv[], char *const envp[]) {
    return REAL(execvpe)(file, argv, envp);
}

int execveat(int fd, const char *path, char *const argv[], char *const envp[], int flags) {
    return REAL(execveat)(fd, path, argv, envp, flags);
}

int fexecve(int fd, char *const argv[], char *const envp[]) { return REAL(fexecve)(fd, argv, envp); }

int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,
                const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
    return REAL(posix_spawn)(pid, path, actions, attr, argv, envp);
}

int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions,
                 const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
    return REAL(posix_spawnp)(pid, file, actions, attr, argv, envp);
}

int system(const char *command) { return REAL(system)(command); }

FILE *popen(const char *command, const char *mode) { return REAL(popen)(command, mode); }

int pclose(FILE *stream) { return REAL(pclose)(stream); }
