/* sigcatch.so, preloaded into ssh beside the library: a handler for
 * SIGUSR1 installed as ssh installs its own (SA_RESTART), writing
 * "sigcatch: SIGUSR1" to standard error each time it runs. A test sends
 * the signal to stand for one ssh handles while muxfix waits inside its
 * read: the SIGCHLD of the ControlPersist fork, whose foreground ssh
 * attaches to the master it just started (ssh.c, control_persist_detach). */
#include <signal.h>
#include <unistd.h>

static void caught(int sig)
{
    static const char line[] = "sigcatch: SIGUSR1\n";
    (void)sig;
    (void)!write(STDERR_FILENO, line, sizeof line - 1);
}

__attribute__((constructor)) static void install(void)
{
    struct sigaction sa = {.sa_handler = caught, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGUSR1, &sa, NULL);
}
