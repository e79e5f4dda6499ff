/* Exit 0 when this process's environment is a consistent tracked set:
 * STABLE=yes is there and tracked, every CHURN_* value is one a writer used,
 * no name appears twice, and there is one LD_PRELOAD and one ENVTRACK_STATE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

int main(void) {
    const char *stable = getenv("STABLE");
    if (!stable || strcmp(stable, "yes")) return 1;
    const char *state = getenv("ENVTRACK_STATE");
    if (!state || strncmp(state, "ET1;", 4) || !strstr(state, "S6:STABLE")) return 2;
    int preloads = 0, states = 0;
    for (char **e = environ; *e; e++) {
        if (!strncmp(*e, "LD_PRELOAD=", 11)) preloads++;
        if (!strncmp(*e, "ENVTRACK_STATE=", 15)) states++;
        if (!strncmp(*e, "CHURN_", 6)) {
            const char *v = strchr(*e, '=') + 1;
            if (strcmp(v, "v0") && strcmp(v, "v1") && strcmp(v, "v2")) return 3;
            size_t len = (size_t)(v - *e);
            for (char **f = e + 1; *f; f++)
                if (!strncmp(*f, *e, len)) return 4;
        }
    }
    return (preloads == 1 && states == 1) ? 0 : 5;
}
