/* posix_spawnp(argv[1]) with file actions that fail in the child; prints the return value.
 * argv[2]: "missing" (open a file in a directory that does not exist: ENOENT) or "excl"
 * (create argv[3] with O_EXCL, then dup2 a closed descriptor: EBADF; argv[3] is removed first). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (strcmp(argv[2], "missing") == 0) {
        posix_spawn_file_actions_addopen(&actions, 5, "/nonexistent-dir/file", O_RDONLY, 0);
    } else {
        if (argc < 4) return 2;
        unlink(argv[3]);
        posix_spawn_file_actions_addopen(&actions, 5, argv[3], O_WRONLY | O_CREAT | O_EXCL, 0644);
        posix_spawn_file_actions_adddup2(&actions, 999, 6);
    }
    char *child_argv[] = {argv[1], "spawned", NULL};
    pid_t pid;
    int error = posix_spawnp(&pid, argv[1], &actions, NULL, child_argv, environ);
    printf("posix_spawnp %d\n", error);
    fflush(stdout);
    if (error == 0) waitpid(pid, NULL, 0);
    return 0;
}
