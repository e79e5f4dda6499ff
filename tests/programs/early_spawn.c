/* A preload whose constructor starts a child before envtrack's constructor
 * has run (it is initialised first): the hook must still work. */
#include <stdlib.h>

__attribute__((constructor)) static void early(void) {
    if (getenv("EARLY_DONE")) return;
    setenv("EARLY_DONE", "1", 1);
    system("echo early-child-ran");
}
