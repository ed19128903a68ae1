/*
 * serve.h — "gpuhub serve": parse flags, load config, run the daemon.
 */
#ifndef GH_SERVE_H
#define GH_SERVE_H
/* argv[0] is "serve". Returns the process exit code. */
int serve_main(int argc, char **argv);
#endif
