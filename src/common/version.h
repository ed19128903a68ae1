/* version.h — the gpuhub release number, shown by `gpuhub version` and /health. */
#ifndef GH_VERSION_H
#define GH_VERSION_H
#define GH_VERSION "0.1.0"
#endif
