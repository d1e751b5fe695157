/* SPDX-License-Identifier: Apache-2.0 */
/* The pod sandbox's process for the container tests' own pause image:
 * sleeps until SIGTERM or SIGINT. Built static, it is the whole image. */
#include <signal.h>
#include <unistd.h>

static volatile sig_atomic_t done;

static void on_signal(int sig)
{
	(void)sig;
	done = 1;
}

int main(void)
{
	struct sigaction sa = {0};

	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!done)
		pause();
	return 0;
}
