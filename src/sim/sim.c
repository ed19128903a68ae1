/*
 * sim.c — "gpuhub sim": dispatches to the experiments.
 *
 *   gpuhub sim fgd ...     the fragmentation experiment of ATC'23 (sim_fgd*.c)
 *   gpuhub sim replay ...  arrivals and departures over time (sim_replay*.c);
 *                          with --cull, idle culling over an activity trace
 *                          (sim_cull*.c)
 *   gpuhub sim gen-activity ...  a synthetic notebook activity trace
 *
 * The simulator drives the same src/sched code the daemon runs; it only
 * adds reading traces, the clock of the replay, and reporting.
 */
#include <stdio.h>
#include <string.h>

#include "sim/sim.h"
#include "sim/sim_int.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: gpuhub sim fgd [options]      (gpuhub sim fgd --help)\n"
		   "       gpuhub sim replay [options]   (gpuhub sim replay --help)\n"
		   "       gpuhub sim replay --cull all --activity FILE   (idle culling)\n"
		   "       gpuhub sim gen-activity [options]   (gpuhub sim gen-activity --help)\n");
}

int sim_main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "fgd") == 0)
		return sim_fgd_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "replay") == 0) {
		for (int i = 2; i < argc; i++)
			if (strncmp(argv[i], "--cull", 6) == 0 || strncmp(argv[i], "--activity", 10) == 0)
				return sim_cull_main(argc - 1, argv + 1);
		return sim_replay_main(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "gen-activity") == 0)
		return sim_gen_activity_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "gpuhub sim: unknown experiment \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
