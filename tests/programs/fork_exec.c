/* fork, then exec through each hook in the child (no allocation allowed
 * there: see nomalloc.c). Exit status 0 when every child exited 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    setenv("FORKED", "yes", 1);
    setenv("PATH", "/opt/f:/usr/bin:/bin", 1);
    const char *modes[] = {"execve", "execv", "execvp", "execl", "execle"};
    for (int i = 0; i < 5; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            char *args[] = {"true", NULL};
            char *own[] = {"OWN=1", NULL};
            if (!strcmp(modes[i], "execve")) execve("/bin/true", args, own);
            if (!strcmp(modes[i], "execv")) execv("/bin/true", args);
            if (!strcmp(modes[i], "execvp")) execvp("true", args);
            if (!strcmp(modes[i], "execl")) execl("/bin/true", "true", (char *)NULL);
            if (!strcmp(modes[i], "execle")) execle("/bin/true", "true", (char *)NULL, own);
            _exit(100);
        }
        int status;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "%s: child status %d\n", modes[i], status);
            return 1;
        }
    }
    return 0;
}
