/*
 * config_report.c — the half of config loading that explains failures:
 * where in the file, which key, and what was expected.
 *
 * libyaml builds a tree of the file first (config_load() step 2). Its
 * syntax errors carry exact marks, and its nodes keep the start mark of
 * every key and value, so any later error can be pinned to a line and
 * column by walking a dotted path down the tree (cfg_tree_find).
 *
 * libcyaml, which maps the file onto the schema (step 3), reports through
 * its log callback. For a typo in log: it writes
 *
 *     Load: Unexpected key: levl
 *     Load: Backtrace:
 *       in mapping (line: 3, column: 11)
 *       in mapping field 'log' (line: 3, column: 3)
 *
 * Its positions belong to the last value it read, not to the offending
 * key, so cfg_cyaml_log() keeps the message and the field names only.
 * cfg_schema_error() then joins the names into a path ("log"), finds the
 * key "levl" under it in the tree, and writes
 *
 *     gpuhub.yaml:4:3: unknown key 'log.levl' (did you mean 'log.level'?)
 *
 * The suggestion is a sibling key within two edits, or a key of the same
 * name in another section ("level" at the top suggests "log.level").
 */
#include "config/config_int.h"
#include "common/err.h"
#include "common/util.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int cfg_fail(cfg_load_t *L, int err, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!L->msg || L->msglen == 0)
		return err;
	if (m)
		n = snprintf(L->msg, L->msglen, "%s:%zu:%zu: ", L->file, m->line + 1, m->column + 1);
	else
		n = snprintf(L->msg, L->msglen, "%s: ", L->file);
	if (n >= 0 && (size_t)n < L->msglen) {
		va_start(ap, fmt);
		vsnprintf(L->msg + n, L->msglen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* Line and column of byte off, for libyaml's reader errors, which only
 * give an offset. */
static yaml_mark_t cfg_mark_at(const char *buf, size_t len, size_t off)
{
	yaml_mark_t m = { 0, 0, 0 };
	size_t i;

	for (i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			m.line++;
			m.column = 0;
		} else {
			m.column++;
		}
	}
	m.index = off;
	return m;
}

static int cfg_syntax_error(cfg_load_t *L, yaml_parser_t *p, const char *buf, size_t len)
{
	yaml_mark_t m;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return cfg_fail(L, GH_ENOMEM, NULL, "out of memory while parsing");
	case YAML_READER_ERROR:
		m = cfg_mark_at(buf, len, p->problem_offset);
		return cfg_fail(L, GH_ECONFIG, &m, "not valid YAML text: %s", p->problem);
	default:
		if (p->context)
			return cfg_fail(L, GH_ECONFIG, &p->problem_mark,
					"YAML syntax error: %s (%s at line %zu)", p->problem,
					p->context, p->context_mark.line + 1);
		return cfg_fail(L, GH_ECONFIG, &p->problem_mark, "YAML syntax error: %s",
				p->problem ? p->problem : "unknown");
	}
}

/* Step 2: the libyaml tree of buf into L->doc; one document at most. */
int cfg_parse_tree(cfg_load_t *L, const char *buf, size_t len)
{
	yaml_parser_t p;
	yaml_document_t extra;
	yaml_node_t *root;
	int rc = 0;

	if (!yaml_parser_initialize(&p))
		return cfg_fail(L, GH_ENOMEM, NULL, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&p, &L->doc)) {
		rc = cfg_syntax_error(L, &p, buf, len);
		goto out;
	}
	L->have_doc = 1;
	if (!yaml_parser_load(&p, &extra)) {
		rc = cfg_syntax_error(L, &p, buf, len);
		goto out;
	}
	root = yaml_document_get_root_node(&extra);
	if (root)
		rc = cfg_fail(L, GH_ECONFIG, &root->start_mark,
			      "a second YAML document; the file must hold only one");
	yaml_document_delete(&extra);
out:
	yaml_parser_delete(&p);
	return rc;
}

/* True for a file with no settings: empty, only comments, or a lone null. */
int cfg_tree_empty(yaml_document_t *doc)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);
	const char *v;

	if (!root)
		return 1;
	if (root->type != YAML_SCALAR_NODE || root->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	v = (const char *)root->data.scalar.value;
	return v[0] == '\0' || strcmp(v, "~") == 0 || strcasecmp(v, "null") == 0;
}

/* libcyaml 1.3.1 fails with an internal error and no message on a key
 * that is itself a list or mapping ("? [a, b]"), so those are refused
 * here, with their position. */
int cfg_tree_keys_plain(cfg_load_t *L)
{
	yaml_node_t *n;
	yaml_node_pair_t *p;

	for (n = L->doc.nodes.start; n < L->doc.nodes.top; n++) {
		if (n->type != YAML_MAPPING_NODE)
			continue;
		for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(&L->doc, p->key);

			if (k && k->type != YAML_SCALAR_NODE)
				return cfg_fail(L, GH_ECONFIG, &k->start_mark,
						"a key must be a plain name, not a %s",
						k->type == YAML_SEQUENCE_NODE ? "list" : "mapping");
		}
	}
	return 0;
}

/* The nth (from 0) pair of mapping node map whose key is the scalar key. */
static yaml_node_pair_t *cfg_tree_pair(yaml_document_t *doc, yaml_node_t *map, const char *key,
				       int nth)
{
	yaml_node_pair_t *p;
	size_t klen = strlen(key);

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);

		if (k && k->type == YAML_SCALAR_NODE && k->data.scalar.length == klen
		    && memcmp(k->data.scalar.value, key, klen) == 0 && nth-- == 0)
			return p;
	}
	return NULL;
}

/* Follows the dotted path from the root ("" is the root itself) and
 * returns the value node of its last part, or the key node when want_key;
 * nth picks among repeats of the last key. NULL when it is not there. */
yaml_node_t *cfg_tree_find(yaml_document_t *doc, const char *path, int want_key, int nth)
{
	yaml_node_t *node = yaml_document_get_root_node(doc);
	char part[CFG_NAME_MAX + 1];
	const char *s = path;

	while (node && *s) {
		size_t n = strcspn(s, ".");
		int last = s[n] == '\0';
		yaml_node_pair_t *p;

		if (n > CFG_NAME_MAX)
			return NULL;
		memcpy(part, s, n);
		part[n] = '\0';
		p = cfg_tree_pair(doc, node, part, last ? nth : 0);
		if (!p)
			return NULL;
		node = yaml_document_get_node(doc, last && want_key ? p->key : p->value);
		s += last ? n : n + 1;
	}
	return node;
}

/* ---- turning libcyaml's report into a message ------------------------ */

void cfg_cyaml_log(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
{
	static const char field[] = "  in mapping field '";
	cfg_load_t *L = ctx;
	char line[256], *p;
	size_t n;

	if (level < CYAML_LOG_ERROR)
		return;
	vsnprintf(line, sizeof line, fmt, args);
	/* Only the final newline: a quoted key may hold one of its own. */
	n = strlen(line);
	if (n && line[n - 1] == '\n')
		line[n - 1] = '\0';
	if (strncmp(line, field, sizeof field - 1) == 0) {
		char *name = line + sizeof field - 1;

		p = strstr(name, "' (line: ");
		if (!p)
			return;
		if (L->cy_line == 0 && sscanf(p, "' (line: %ld, column: %ld)", &L->cy_line,
					      &L->cy_col) != 2)
			L->cy_line = 0;
		*p = '\0';
		if (L->cy_depth < CFG_MAX_DEPTH)
			gh_strlcpy(L->cy_path[L->cy_depth++], name, sizeof L->cy_path[0]);
	} else if (strncmp(line, "  in ", 5) == 0) {
		p = strstr(line, "(line: ");
		if (p && L->cy_line == 0 && sscanf(p, "(line: %ld, column: %ld)", &L->cy_line,
						   &L->cy_col) != 2)
			L->cy_line = 0;
	} else if (strncmp(line, "Load: ", 6) == 0 && strcmp(line, "Load: Backtrace:") != 0
		   && L->cy_what[0] == '\0') {
		gh_strlcpy(L->cy_what, line + 6, sizeof L->cy_what);
	}
}

/* The field names libcyaml was in, outermost first, joined by dots;
 * skip drops that many innermost names. */
static void cfg_cy_path(const cfg_load_t *L, int skip, char *out, size_t outlen)
{
	int i;

	out[0] = '\0';
	for (i = L->cy_depth - 1; i >= skip; i--) {
		if (out[0])
			strncat(out, ".", outlen - strlen(out) - 1);
		strncat(out, L->cy_path[i], outlen - strlen(out) - 1);
	}
}

/* Edit distance (insert, delete, substitute) between two short names. */
static size_t cfg_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, row[CFG_NAME_MAX + 1];

	if (la > CFG_NAME_MAX || lb > CFG_NAME_MAX)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* A likely meant key for an unknown name in the mapping at container:
 * a sibling within two edits, else a key of that name elsewhere. Writes
 * a full path into out, or "" when nothing is close. */
static void cfg_suggest(const char *container, const char *name, char *out, size_t outlen)
{
	const cyaml_schema_field_t *f = cfg_fields_of(container);
	size_t best = 3, d, i;

	out[0] = '\0';
	for (; f && f->key; f++) {
		d = cfg_distance(name, f->key);
		if (d < best && d < strlen(name)) {
			int n = snprintf(out, outlen, "%s%s%s", container, container[0] ? "." : "",
					 f->key);

			best = d;
			if (n < 0 || (size_t)n >= outlen)
				out[0] = '\0';
		}
	}
	if (out[0])
		return;
	for (i = 0; i < cfg_nkeys; i++) {
		const char *dot = strrchr(cfg_keys[i].path, '.');

		if (strcmp(dot ? dot + 1 : cfg_keys[i].path, name) == 0) {
			gh_strlcpy(out, cfg_keys[i].path, outlen);
			return;
		}
	}
}

const char *cfg_kind_text(const char *path)
{
	const cfg_key_t *k = cfg_key_find(path);

	if (!k)
		return cfg_fields_of(path) ? "a mapping of keys" : "something else";
	switch (k->kind) {
	case CFG_INT:
	case CFG_LONG:
		return "an integer";
	case CFG_BOOL:
		return "true or false";
	default:
		return "a string";
	}
}

void cfg_printable(const char *s, char *out, size_t outlen)
{
	size_t i, len = strlen(s), keep = len;

	if (outlen == 0)
		return;
	if (len >= outlen)
		keep = outlen > 4 ? outlen - 4 : outlen - 1;
	for (i = 0; i < keep; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (keep < len && outlen > 4) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

/* "a list", "a mapping", or the scalar in quotes, for "got ..." */
static void cfg_node_text(yaml_node_t *n, char *out, size_t outlen)
{
	char v[64];

	if (!n) {
		gh_strlcpy(out, "something else", outlen);
	} else if (n->type == YAML_SEQUENCE_NODE) {
		gh_strlcpy(out, "a list", outlen);
	} else if (n->type == YAML_MAPPING_NODE) {
		gh_strlcpy(out, "a mapping", outlen);
	} else {
		cfg_printable((const char *)n->data.scalar.value, v, sizeof v);
		snprintf(out, outlen, "'%s'", v);
	}
}

static int cfg_unknown_key(cfg_load_t *L, const char *name)
{
	char container[128], hint[128], shown[64];
	yaml_node_t *map, *key = NULL;

	cfg_cy_path(L, 0, container, sizeof container);
	map = cfg_tree_find(&L->doc, container, 0, 0);
	if (map) {
		yaml_node_pair_t *p = cfg_tree_pair(&L->doc, map, name, 0);

		if (p)
			key = yaml_document_get_node(&L->doc, p->key);
	}
	cfg_suggest(container, name, hint, sizeof hint);
	cfg_printable(name, shown, sizeof shown);
	return cfg_fail(L, GH_ECONFIG, key ? &key->start_mark : NULL,
			"unknown key '%s%s%s'%s%s%s", container, container[0] ? "." : "", shown,
			hint[0] ? " (did you mean '" : "", hint, hint[0] ? "'?)" : "");
}

static int cfg_duplicate_key(cfg_load_t *L, const char *name)
{
	char path[128];
	yaml_node_t *key;

	/* The backtrace may or may not end in the repeated key itself. */
	cfg_cy_path(L, L->cy_depth > 0 && strcmp(L->cy_path[0], name) == 0, path, sizeof path);
	if (path[0])
		strncat(path, ".", sizeof path - strlen(path) - 1);
	strncat(path, name, sizeof path - strlen(path) - 1);
	key = cfg_tree_find(&L->doc, path, 1, 1);
	return cfg_fail(L, GH_ECONFIG, key ? &key->start_mark : NULL,
			"duplicate key '%s'", path);
}

/* Step 3 failed: say which key and why, at the key's place in the file. */
int cfg_schema_error(cfg_load_t *L, cyaml_err_t err)
{
	static const char unknown[] = "Unexpected key: ", dup[] = "Mapping field already seen: ";
	char path[128], got[80], what[sizeof L->cy_what];
	yaml_node_t *node;
	yaml_mark_t cm;

	if (err == CYAML_ERR_OOM)
		return cfg_fail(L, GH_ENOMEM, NULL, "out of memory");
	if (strncmp(L->cy_what, unknown, sizeof unknown - 1) == 0)
		return cfg_unknown_key(L, L->cy_what + sizeof unknown - 1);
	if (strncmp(L->cy_what, dup, sizeof dup - 1) == 0)
		return cfg_duplicate_key(L, L->cy_what + sizeof dup - 1);

	cfg_cy_path(L, 0, path, sizeof path);
	if (err == CYAML_ERR_ALIAS) {
		/* The tree resolves an alias to its anchor's node and position;
		 * the key in front of the alias is where the user looks. */
		node = cfg_tree_find(&L->doc, path, 1, 0);
		return cfg_fail(L, GH_ECONFIG, node ? &node->start_mark : NULL,
				"%s%sYAML aliases (*name) are not supported", path,
				path[0] ? ": " : "");
	}
	node = cfg_tree_find(&L->doc, path, 0, 0);
	if (err == CYAML_ERR_STRING_LENGTH_MAX) {
		const cfg_key_t *k = cfg_key_find(path);

		return cfg_fail(L, GH_ECONFIG, node ? &node->start_mark : NULL,
				"%s: longer than %zu bytes", path, k ? k->cfg_size - 1 : 0);
	}
	if (node && (err == CYAML_ERR_INVALID_VALUE || err == CYAML_ERR_UNEXPECTED_EVENT)) {
		cfg_node_text(node, got, sizeof got);
		if (path[0] == '\0')
			return cfg_fail(L, GH_ECONFIG, &node->start_mark,
					"the top level must be a mapping of keys, got %s", got);
		return cfg_fail(L, GH_ECONFIG, &node->start_mark, "%s: expected %s, got %s", path,
				cfg_kind_text(path), got);
	}
	/* Anything else: libcyaml's own words and position. */
	cm.index = 0;
	cm.line = L->cy_line > 0 ? (size_t)L->cy_line - 1 : 0;
	cm.column = L->cy_col > 0 ? (size_t)L->cy_col - 1 : 0;
	cfg_printable(L->cy_what[0] ? L->cy_what : cyaml_strerror(err), what, sizeof what);
	return cfg_fail(L, GH_ECONFIG, L->cy_line > 0 ? &cm : NULL, "%s%s%s", path,
			path[0] ? ": " : "", what);
}
