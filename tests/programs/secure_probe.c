/* Started in secure execution (setuid, or with a file capability; AT_SECURE
 * set): says whether it is in secure execution and whether libenvtrack is
 * mapped into it, then changes a variable and execs `env`, whose output shows
 * whether anything of envtrack's was added. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern char **environ;

int main(void) {
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512];
    int mapped = 0;
    while (maps && fgets(line, sizeof line, maps))
        if (strstr(line, "libenvtrack")) mapped = 1;
    printf("secure=%lu mapped=%d\n", getauxval(AT_SECURE), mapped);
    fflush(stdout);
    setenv("PROBE_SET", "1", 1);
    char *args[] = {"env", NULL};
    execve("/usr/bin/env", args, environ);
    return 1;
}
