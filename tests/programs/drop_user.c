/* A tracked root program that sets ROOT_ONLY, gives up root for nobody
 * (setgid/setuid 65534) and then execs /usr/bin/env -0:
 *   drop_user explicit  passes an explicit environment, PATH and KEEP alone;
 *   drop_user environ   passes its own environ, from which it has taken out
 *                       ROOT_ONLY, LD_PRELOAD and ENVTRACK_* by hand.
 * What env prints is what the child got. */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static int dropped(const char *entry) {
    return !strncmp(entry, "ROOT_ONLY=", 10) || !strncmp(entry, "LD_PRELOAD=", 11) ||
           !strncmp(entry, "ENVTRACK", 8);
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    if (setenv("ROOT_ONLY", "x", 1)) return 3;
    if (setgroups(0, NULL) || setgid(65534) || setuid(65534)) {
        perror("drop_user: setuid");
        return 4;
    }
    char *args[] = {"env", "-0", NULL};
    if (!strcmp(argv[1], "explicit")) {
        char *own[] = {"PATH=/usr/bin:/bin", "KEEP=1", NULL};
        execve("/usr/bin/env", args, own);
    } else {
        size_t n = 0;
        while (environ[n]) n++;
        char **kept = calloc(n + 1, sizeof *kept);
        if (!kept) return 5;
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (!dropped(environ[i])) kept[k++] = environ[i];
        environ = kept;
        execv("/usr/bin/env", args);
    }
    perror("drop_user: exec");
    return 6;
}
