/*
 * main.c — the one gpuhub binary: "serve" runs the daemon, "sim" the
 * scheduler simulator, every other verb is a REST client (src/cli/).
 */
#include "cli/cli.h"
#include "hub/serve.h"
#include "sim/sim.h"

#include <string.h>

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return serve_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "sim") == 0)
		return sim_main(argc - 1, argv + 1);
	return cli_main(argc, argv);
}
