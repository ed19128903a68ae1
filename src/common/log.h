/*
 * log.h — whole-sentence log lines, text or JSON (one object per line).
 *
 * Lines go to stderr. gh_log() never splits a line: each call is one
 * write(2). Use key=value style only inside the sentence, e.g.
 *   gh_log(GH_LOG_INFO, "session %s of user %s is running", id, user);
 */
#ifndef GH_LOG_H
#define GH_LOG_H

typedef enum { GH_LOG_DEBUG, GH_LOG_INFO, GH_LOG_WARN, GH_LOG_ERROR } gh_log_level_t;
typedef enum { GH_LOG_TEXT, GH_LOG_JSON } gh_log_format_t;

void gh_log_setup(gh_log_format_t fmt, gh_log_level_t min_level);
/* Parses "text"/"json"; returns 0 or GH_EINVAL. */
int gh_log_format_parse(const char *s, gh_log_format_t *out);
void gh_log(gh_log_level_t lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define GH_DEBUG(...) gh_log(GH_LOG_DEBUG, __VA_ARGS__)
#define GH_INFO(...)  gh_log(GH_LOG_INFO, __VA_ARGS__)
#define GH_WARN(...)  gh_log(GH_LOG_WARN, __VA_ARGS__)
#define GH_ERROR(...) gh_log(GH_LOG_ERROR, __VA_ARGS__)

#endif
