/*
 * cli_config.c — the per-user client config file, and which server URL
 * and token a command uses.
 *
 * The file is $XDG_CONFIG_HOME/gpuhub/config (or ~/.config/gpuhub/config),
 * written by "gpuhub login" and read by every other command:
 *
 *   # gpuhub client settings
 *   url = http://127.0.0.1:8000
 *   token = gh_AbCd...
 *   token_id = 7
 *
 * One "key = value" per line, '#' starts a comment line, unknown keys are
 * kept and ignored (newer clients may add some). It holds a secret, so it
 * is always written with mode 0600, through a temporary file and rename()
 * so a crash never leaves half a file.
 *
 * Precedence, for the URL and the token separately:
 *   --url / --token  >  GPUHUB_URL / GPUHUB_TOKEN  >  config file  >  default
 * with one guard: the file's token belongs to the file's URL and is never
 * sent to a server named by a flag or the environment.
 */
#include "cli/cli_int.h"
#include "common/err.h"
#include "common/util.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

int cli_config_path(char *out, size_t outlen)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int n;

	if (xdg && xdg[0] == '/') {
		n = snprintf(out, outlen, "%s/gpuhub/config", xdg);
	} else {
		if (!home || !*home) {
			struct passwd *pw = getpwuid(getuid());
			home = pw ? pw->pw_dir : NULL;
		}
		if (!home || !*home)
			return GH_ENOTFOUND;
		n = snprintf(out, outlen, "%s/.config/gpuhub/config", home);
	}
	return n < 0 || (size_t)n >= outlen ? GH_EINVAL : 0;
}

/* Trims blanks at both ends in place; returns the start. */
static char *trim(char *s)
{
	size_t len;

	while (*s == ' ' || *s == '\t')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
			   s[len - 1] == '\n'))
		s[--len] = '\0';
	return s;
}

/* Splits "key = value" in place. 1 for a setting, 0 for a blank or
 * comment line, -1 for a malformed one. */
static int split_line(char *line, char **key, char **val)
{
	char *s = trim(line), *eq;
	size_t vlen;

	if (*s == '\0' || *s == '#')
		return 0;
	eq = strchr(s, '=');
	if (!eq)
		return -1;
	*eq = '\0';
	*key = trim(s);
	*val = trim(eq + 1);
	vlen = strlen(*val);
	if (vlen >= 2 && (*val)[0] == '"' && (*val)[vlen - 1] == '"') {
		(*val)[vlen - 1] = '\0';
		(*val)++;
	}
	return **key ? 1 : -1;
}

int cli_config_read(const char *path, cli_config_t *cfg, char *msg, size_t msglen)
{
	FILE *f;
	struct stat st;
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, rc = 0;

	memset(cfg, 0, sizeof(*cfg));
	f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		snprintf(msg, msglen, "%s", strerror(errno));
		return GH_EIO;
	}
	if (fstat(fileno(f), &st) == 0)
		cfg->loose_mode = (st.st_mode & 077) != 0;
	while (getline(&line, &cap, f) >= 0) {
		char *key, *val;
		int kind;

		lineno++;
		kind = split_line(line, &key, &val);
		if (kind == 0)
			continue;
		if (kind < 0) {
			snprintf(msg, msglen, "line %d: expected 'key = value'", lineno);
			rc = GH_EINVAL;
			break;
		}
		if (strcmp(key, "url") == 0) {
			gh_strlcpy(cfg->url, val, sizeof(cfg->url));
		} else if (strcmp(key, "token") == 0) {
			gh_strlcpy(cfg->token, val, sizeof(cfg->token));
		} else if (strcmp(key, "token_id") == 0) {
			if (cli_parse_uint(val, &cfg->token_id) < 0) {
				snprintf(msg, msglen, "line %d: token_id must be a number", lineno);
				rc = GH_EINVAL;
				break;
			}
		}
	}
	if (rc == 0 && ferror(f)) {
		snprintf(msg, msglen, "%s", strerror(errno));
		rc = GH_EIO;
	}
	if (line) {
		explicit_bzero(line, cap);
		free(line);
	}
	fclose(f);
	if (rc < 0)
		explicit_bzero(cfg, sizeof(*cfg));
	return rc;
}

/* mkdir -p for the folder holding path; new folders get mode 0700. */
static int make_parent(const char *path)
{
	char dir[CLI_PATH_MAX];
	char *slash;

	if (gh_strlcpy(dir, path, sizeof(dir)) >= sizeof(dir))
		return GH_EINVAL;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return GH_EIO;
		*p = '/';
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return GH_EIO;
	return 0;
}

/* The value a managed key gets, NULL when it is to be left out. */
static const char *managed_value(const cli_config_t *cfg, const char *key, char *buf, size_t n)
{
	if (strcmp(key, "url") == 0)
		return cfg->url[0] ? cfg->url : NULL;
	if (strcmp(key, "token") == 0)
		return cfg->token[0] ? cfg->token : NULL;
	if (strcmp(key, "token_id") == 0) {
		if (cfg->token_id <= 0)
			return NULL;
		snprintf(buf, n, "%lld", (long long)cfg->token_id);
		return buf;
	}
	return NULL;
}

static const char *const managed_keys[] = { "url", "token", "token_id" };
#define NMANAGED (sizeof(managed_keys) / sizeof(managed_keys[0]))

/* Writes the new file content to out: the old lines with managed keys
 * replaced (or dropped), then managed keys not seen yet. */
static void render(FILE *old, FILE *out, const cli_config_t *cfg)
{
	int done[NMANAGED] = { 0 };
	char *line = NULL, numbuf[32];
	size_t cap = 0;

	if (!old)
		fputs("# gpuhub client settings, written by 'gpuhub login'.\n", out);
	while (old && getline(&line, &cap, old) >= 0) {
		char copy[CLI_TOKEN_MAX + CLI_URL_MAX];
		char *key, *val;
		size_t k;

		gh_strlcpy(copy, line, sizeof(copy));
		if (split_line(copy, &key, &val) <= 0) {
			fputs(line, out);
			if (line[0] && line[strlen(line) - 1] != '\n')
				fputc('\n', out);
			continue;
		}
		for (k = 0; k < NMANAGED; k++)
			if (strcmp(key, managed_keys[k]) == 0)
				break;
		if (k == NMANAGED) {
			fputs(line, out);
			if (line[strlen(line) - 1] != '\n')
				fputc('\n', out);
			continue;
		}
		if (!done[k]) {
			const char *v = managed_value(cfg, managed_keys[k], numbuf, sizeof(numbuf));
			if (v)
				fprintf(out, "%s = %s\n", managed_keys[k], v);
			done[k] = 1;
		}
		explicit_bzero(copy, sizeof(copy));
	}
	for (size_t k = 0; k < NMANAGED; k++) {
		const char *v;
		if (done[k])
			continue;
		v = managed_value(cfg, managed_keys[k], numbuf, sizeof(numbuf));
		if (v)
			fprintf(out, "%s = %s\n", managed_keys[k], v);
	}
	if (line) {
		explicit_bzero(line, cap);
		free(line);
	}
}

int cli_config_write(const char *path, const cli_config_t *cfg)
{
	char tmp[CLI_PATH_MAX + 16];
	FILE *old = NULL, *out = NULL;
	int fd = -1, rc;

	if (strpbrk(cfg->url, "\r\n") || strpbrk(cfg->token, "\r\n"))
		return GH_EINVAL;
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return GH_EINVAL;
	rc = make_parent(path);
	if (rc < 0)
		return rc;
	fd = mkstemp(tmp); /* mode 0600 */
	if (fd < 0)
		return GH_EIO;
	if (fchmod(fd, 0600) < 0)
		goto fail_fd;
	out = fdopen(fd, "w");
	if (!out)
		goto fail_fd;
	old = fopen(path, "r");
	render(old, out, cfg);
	if (old)
		fclose(old);
	if (fflush(out) != 0 || fsync(fileno(out)) < 0) {
		fclose(out);
		goto fail_tmp;
	}
	if (fclose(out) != 0)
		goto fail_tmp;
	if (rename(tmp, path) < 0)
		goto fail_tmp;
	return 0;

fail_fd:
	close(fd);
fail_tmp:
	unlink(tmp);
	return GH_EIO;
}

int cli_url_normalize(const char *in, char *out, size_t outlen)
{
	char buf[CLI_URL_MAX];
	const char *sep, *host;
	size_t len;
	int n;

	while (*in == ' ' || *in == '\t')
		in++;
	if (!*in)
		return GH_EINVAL;
	sep = strstr(in, "://");
	if (sep) {
		size_t slen = (size_t)(sep - in);
		if (!((slen == 4 && strncasecmp(in, "http", 4) == 0) ||
		      (slen == 5 && strncasecmp(in, "https", 5) == 0)))
			return GH_EINVAL;
		n = snprintf(buf, sizeof(buf), "%s", in);
		host = buf + slen + 3;
	} else {
		n = snprintf(buf, sizeof(buf), "http://%s", in);
		host = buf + 7;
	}
	if (n < 0 || (size_t)n >= sizeof(buf))
		return GH_EINVAL;
	len = strlen(buf);
	while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t' || buf[len - 1] == '\n'))
		buf[--len] = '\0';
	while (len > 0 && buf[len - 1] == '/')
		buf[--len] = '\0';
	if (len >= strlen(CLI_API_PREFIX) &&
	    strcmp(buf + len - strlen(CLI_API_PREFIX), CLI_API_PREFIX) == 0) {
		len -= strlen(CLI_API_PREFIX);
		buf[len] = '\0';
		while (len > 0 && buf[len - 1] == '/')
			buf[--len] = '\0';
	}
	if ((size_t)(host - buf) >= len || *host == '/' || strpbrk(buf, " \t\r\n"))
		return GH_EINVAL;
	if (gh_strlcpy(out, buf, outlen) >= outlen)
		return GH_EINVAL;
	return 0;
}

int cli_ctx_resolve(cli_ctx_t *c, const char *flag_url, const char *flag_token,
		    const char *env_url, const char *env_token, const cli_config_t *file)
{
	char file_url[CLI_URL_MAX];
	const char *raw, *token = NULL;
	int file_url_ok = 1;

	if (file && file->url[0])
		file_url_ok = cli_url_normalize(file->url, file_url, sizeof(file_url)) == 0;
	else
		gh_strlcpy(file_url, CLI_DEFAULT_URL, sizeof(file_url));

	if (flag_url && *flag_url) {
		raw = flag_url;
		c->url_source = "--url";
	} else if (env_url && *env_url) {
		raw = env_url;
		c->url_source = "GPUHUB_URL";
	} else if (file && file->url[0]) {
		raw = file->url;
		c->url_source = "the config file";
	} else {
		raw = CLI_DEFAULT_URL;
		c->url_source = "the default";
	}
	if (cli_url_normalize(raw, c->url, sizeof(c->url)) < 0)
		return cli_fail(c, CLI_EXIT_USAGE, "'%s' (from %s) is not a server URL; "
				"expected http://HOST:PORT", raw, c->url_source);

	if (flag_token && *flag_token)
		token = flag_token;
	else if (env_token && *env_token)
		token = env_token;
	else if (file && file->token[0] && file_url_ok && strcmp(file_url, c->url) == 0)
		token = file->token;
	c->token[0] = '\0';
	if (token && gh_strlcpy(c->token, token, sizeof(c->token)) >= sizeof(c->token)) {
		c->token[0] = '\0';
		return cli_fail(c, CLI_EXIT_USAGE, "the token is too long");
	}
	if (strpbrk(c->token, "\r\n \t")) {
		c->token[0] = '\0';
		return cli_fail(c, CLI_EXIT_USAGE, "the token contains blanks or line breaks");
	}
	return 0;
}
