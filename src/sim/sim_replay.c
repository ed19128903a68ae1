/* placeholder */
#include "sim/sim_int.h"
int sim_replay_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return 2;
}
