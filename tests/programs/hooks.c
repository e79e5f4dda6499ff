/* Changes its environment through setenv/unsetenv/putenv, then starts
 * `env -0` through the hook named by argv[1]. With argv[2] == "explicit",
 * the envp-taking hooks pass their own environment {"ONLY=1"}. With
 * HOOKS_CHURN=1 in the environment, another thread sets and unsets
 * variables all the while (new names, so libc replaces and frees its
 * environment arrays). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int wait_for(pid_t pid) {
    int status;
    if (waitpid(pid, &status, 0) != pid) return 98;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 97;
}

static void *churn(void *arg) {
    (void)arg;
    char name[32];
    for (unsigned n = 0;; n++) {
        snprintf(name, sizeof name, "CHURN_%u", n % 512);
        if (n % 3 == 2) unsetenv(name); else setenv(name, "churning", 1);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    if (getenv("HOOKS_CHURN")) {
        pthread_t thread;
        pthread_create(&thread, NULL, churn, NULL);
        usleep(2000);
    }
    const char *mode = argv[1];
    int explicit_env = argc > 2 && !strcmp(argv[2], "explicit");
    static char put[] = "FROM_PUTENV=p";
    setenv("FROM_C", "c-value", 1);
    putenv(put);
    char path[4096];
    snprintf(path, sizeof path, "/opt/c:%s", getenv("PATH"));
    setenv("PATH", path, 1);
    unsetenv("GONE");
    char *args[] = {"env", "-0", NULL};
    char *own[] = {"ONLY=1", NULL};
    char **envp = explicit_env ? own : environ;
    pid_t pid;
    if (!strcmp(mode, "execve")) execve("/usr/bin/env", args, envp);
    else if (!strcmp(mode, "execv")) execv("/usr/bin/env", args);
    else if (!strcmp(mode, "execvp")) execvp("env", args);
    else if (!strcmp(mode, "execvpe")) execvpe("env", args, envp);
    else if (!strcmp(mode, "execl")) execl("/usr/bin/env", "env", "-0", (char *)NULL);
    else if (!strcmp(mode, "execlp")) execlp("env", "env", "-0", (char *)NULL);
    else if (!strcmp(mode, "execle")) execle("/usr/bin/env", "env", "-0", (char *)NULL, envp);
    else if (!strcmp(mode, "execveat")) execveat(AT_FDCWD, "/usr/bin/env", args, envp, 0);
    else if (!strcmp(mode, "fexecve")) {
        int fd = open("/usr/bin/env", O_RDONLY | O_CLOEXEC);
        fexecve(fd, args, envp);
    } else if (!strcmp(mode, "posix_spawn")) {
        int r = posix_spawn(&pid, "/usr/bin/env", NULL, NULL, args, envp);
        return r ? 90 : wait_for(pid);
    } else if (!strcmp(mode, "posix_spawnp")) {
        int r = posix_spawnp(&pid, "env", NULL, NULL, args, envp);
        return r ? 90 : wait_for(pid);
    } else if (!strcmp(mode, "system")) {
        int status = system("env -0");
        return WIFEXITED(status) ? WEXITSTATUS(status) : 96;
    } else if (!strcmp(mode, "popen")) {
        FILE *f = popen("env -0", "r");
        if (!f) return 95;
        char buffer[4096];
        size_t n;
        while ((n = fread(buffer, 1, sizeof buffer, f)) > 0) fwrite(buffer, 1, n, stdout);
        fflush(stdout);
        int status = pclose(f);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 94;
    } else {
        return 2;
    }
    fprintf(stderr, "%s failed: %s\n", mode, strerror(errno));
    return 99;
}
