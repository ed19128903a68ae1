/*
 * err.h — the one project-wide error enum.
 *
 * Every function that can fail returns 0 or one of these negative codes;
 * gh_strerror() turns a code into a short sentence fragment and
 * gh_err_http() into the HTTP status the API answers with.
 */
#ifndef GH_ERR_H
#define GH_ERR_H

typedef enum {
	GH_OK           = 0,
	GH_ENOMEM       = -1,  /* allocation failed */
	GH_EINVAL       = -2,  /* bad argument or input (caller's fault) */
	GH_ENOTFOUND    = -3,  /* no such object (or not visible to the caller) */
	GH_EEXIST       = -4,  /* an object with that name already exists */
	GH_EIO          = -5,  /* I/O or system call failed */
	GH_ESTORE       = -6,  /* the state store failed */
	GH_ESTATE       = -7,  /* not allowed in the object's current state */
	GH_EAUTH        = -8,  /* not authenticated */
	GH_EPERM        = -9,  /* authenticated but not allowed */
	GH_ENOCAP       = -10, /* not enough capacity (GPUs, quota) */
	GH_ELOCKED      = -11, /* resource held by another process */
	GH_ECONFIG      = -12, /* configuration invalid */
	GH_EUNSUPPORTED = -13, /* not available on this machine/back end */
	GH_ETOOBIG      = -14, /* input larger than allowed */
	GH_ETIMEOUT     = -15, /* gave up waiting */
	GH_EINTERNAL    = -16, /* a bug: an invariant broke */
} gh_err_t;

/* Static string describing err; never NULL. */
const char *gh_strerror(int err);
/* Stable machine-readable code for the API ("not_found", ...). */
const char *gh_errcode(int err);
/* HTTP status that corresponds to err (400, 404, ...). */
int gh_err_http(int err);

#endif
