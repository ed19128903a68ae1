/*
 * config_int.h — shared inside src/config/ only: the table of keys
 * (config.c) and the state of one load, which config_report.c turns into
 * an error message with a line and column.
 */
#ifndef GH_CONFIG_INT_H
#define GH_CONFIG_INT_H

#include "config/config.h"

#include <cyaml/cyaml.h>
#include <stdarg.h>
#include <stddef.h>
#include <yaml.h>

#define CFG_MAX_DEPTH 4   /* mapping levels kept from a libcyaml backtrace */
#define CFG_NAME_MAX  63  /* longest key name looked at */

typedef enum { CFG_TEXT, CFG_INT, CFG_LONG, CFG_BOOL } cfg_kind_t;

/* Where a leaf sits in the loaded document: at the top, or in a section. */
typedef enum {
	CFG_S_TOP, CFG_S_LOG, CFG_S_GPUS, CFG_S_STORE, CFG_S_RUNTIME,
	CFG_S_HTTP, CFG_S_AUTH, CFG_S_SESSIONS, CFG_S_SCHED, CFG_S_SNAPSHOTS, CFG_S_METRICS,
	CFG_S_USAGE, CFG_S_ALERTS, CFG_S_IDLE, CFG_S_COUNT
} cfg_sect_t;

/* One leaf key of the file. */
typedef struct {
	const char *path;    /* YAML path, "gpus.poll_interval_ms" */
	cfg_kind_t kind;
	cfg_sect_t sect;
	size_t doc_off;      /* of its char * in the section struct */
	size_t cfg_off;      /* of the member in gh_config_t */
	size_t cfg_size;
	long min, max;       /* allowed range (numbers and booleans) */
	int reloadable;      /* 1: SIGHUP applies it; 0: needs a restart */
} cfg_key_t;

/* Every leaf, in the order of config.h and the documentation. */
extern const cfg_key_t cfg_keys[];
extern const size_t cfg_nkeys;

/* The leaf at path, or NULL. */
const cfg_key_t *cfg_key_find(const char *path);
/* The schema fields of the mapping at path ("" = top level), or NULL. */
const cyaml_schema_field_t *cfg_fields_of(const char *path);

/* The state of one config_load() call; lives on its stack. */
typedef struct {
	const char *file;       /* the path as the caller gave it, for messages */
	char *msg;              /* caller's errmsg, may be NULL */
	size_t msglen;
	yaml_document_t doc;    /* libyaml's tree of the file; owned here */
	int have_doc;
	/* What libcyaml logged about a failure (cfg_cyaml_log): */
	char cy_what[192];                             /* "Unexpected key: lisen" */
	char cy_path[CFG_MAX_DEPTH][CFG_NAME_MAX + 1]; /* field names, innermost first */
	int cy_depth;
	long cy_line, cy_col;                          /* innermost position, 0 = none */
} cfg_load_t;

/* ---- config_report.c ---- */

/* Writes "file:line:col: what" (or "file: what" when m is NULL) into the
 * caller's errmsg and returns err. */
int cfg_fail(cfg_load_t *L, int err, const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Parses buf into L->doc (sets have_doc); at most one document. 0, or
 * GH_ECONFIG/GH_ENOMEM with the syntax error's position in errmsg. */
int cfg_parse_tree(cfg_load_t *L, const char *buf, size_t len);
/* True for a tree with no settings: empty, comments only, a lone null. */
int cfg_tree_empty(yaml_document_t *doc);
/* 0, or GH_ECONFIG when some mapping key is a list or mapping. */
int cfg_tree_keys_plain(cfg_load_t *L);
/* The node at a dotted path ("" = root): its value, or its key node when
 * want_key; nth picks among repeats of the last key. NULL if absent. */
yaml_node_t *cfg_tree_find(yaml_document_t *doc, const char *path, int want_key, int nth);
/* libcyaml log callback; ctx is the cfg_load_t. */
void cfg_cyaml_log(cyaml_log_t level, void *ctx, const char *fmt, va_list args);
/* Turns a libcyaml failure into errmsg; returns GH_ECONFIG or GH_ENOMEM. */
int cfg_schema_error(cfg_load_t *L, cyaml_err_t err);
/* Copies s into out for a one-line message: control characters become
 * '?', and a value that does not fit ends in "...". */
void cfg_printable(const char *s, char *out, size_t outlen);
/* "an integer", "true or false", "a string", "a mapping of keys"... */
const char *cfg_kind_text(const char *path);

/* ---- config_alerts.c ---- */

/* Defaults of the alerts.* keys. */
void config_alert_defaults(gh_config_t *cfg);
/* Checks what ranges cannot: URLs, smtp_tls, a secret given two ways.
 * 0 or GH_ECONFIG with "alerts.KEY: why" in errmsg. */
int config_alert_validate(const gh_config_t *cfg, char *errmsg, size_t errlen);

/* ---- config_idle.c ---- */

/* Defaults of the idle.* keys. */
void config_idle_defaults(gh_config_t *cfg);
/* Checks what ranges cannot: notify_url, checkpoint, the tool names.
 * 0 or GH_ECONFIG with "idle.KEY: why" in errmsg. */
int config_idle_validate(const gh_config_t *cfg, char *errmsg, size_t errlen);

/* 1 when u is an http:// or https:// URL with a host (config.c). */
int cfg_url_ok(const char *u);

/* Writes the message into errmsg (may be NULL) and returns GH_ECONFIG. */
int cfg_bad(char *errmsg, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
