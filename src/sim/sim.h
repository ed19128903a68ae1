/*
 * sim.h — "gpuhub sim": the scheduler simulator (fgd experiment, replay).
 */
#ifndef GH_SIM_H
#define GH_SIM_H
/* argv[0] is "sim". Returns the process exit code. */
int sim_main(int argc, char **argv);
#endif
