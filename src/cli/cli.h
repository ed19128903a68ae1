/*
 * cli.h — the gpuhub command-line client (every verb but serve and sim).
 */
#ifndef GH_CLI_H
#define GH_CLI_H
/* argv[0] is the program name, argv[1] the verb. Returns the exit code:
 * 0 ok, 1 error reported by the server, 2 usage error,
 * 3 cannot reach the server, 4 not authenticated / forbidden, 5 not found. */
int cli_main(int argc, char **argv);
#endif
