/*
 * hub_ident.c — users, API tokens and login cookies.
 *
 * A login cookie is a token of kind GH_TOKEN_LOGIN: the same 32 random
 * bytes, stored only as SHA-256, expiring after auth.login_ttl_hours. Any
 * presented secret is hashed with SHA-256 and compared in constant time
 * with each stored hash, so GPUHUB_ADMIN_TOKEN may be any string the
 * operator chose (16..512 characters).
 *
 * last_used_at is kept in memory on every use and written to the store
 * at most once a minute per token, so authentication costs no write.
 */
#include "hub/hub_int.h"
#include "hub/hub_snap.h"
#include "auth/auth.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int on_user(void *ctx, const gh_user_t *u)
{
	hub_t *hub = ctx;
	if (gh_grow((void **)&hub->users, &hub->cap_users, hub->n_users + 1, sizeof(*u)))
		return GH_ENOMEM;
	hub->users[hub->n_users++] = *u;
	return 0;
}

static int on_token(void *ctx, const gh_token_t *t)
{
	hub_t *hub = ctx;
	if (gh_grow((void **)&hub->tokens, &hub->cap_tokens, hub->n_tokens + 1, sizeof(*t)))
		return GH_ENOMEM;
	hub->tokens[hub->n_tokens++] = *t;
	return 0;
}

int hub_ident_load(hub_t *hub)
{
	int rc = store_user_load(hub->store, on_user, hub);
	return rc ? rc : store_token_load(hub->store, on_token, hub);
}

static int hash_secret(const char *secret, unsigned char out[32])
{
	size_t len = strlen(secret);
	if (len < 16 || len > 512)
		return GH_EINVAL;
	crypto_hash_sha256(out, (const unsigned char *)secret, len);
	return 0;
}

static int token_insert(hub_t *hub, gh_token_t *t)
{
	int rc;
	if (gh_grow((void **)&hub->tokens, &hub->cap_tokens, hub->n_tokens + 1, sizeof(*t)))
		return GH_ENOMEM;
	rc = store_token_put(hub->store, t);
	if (rc == 0)
		hub->tokens[hub->n_tokens++] = *t;
	return rc;
}

int hub_ident_bootstrap(hub_t *hub)
{
	gh_user_t u;
	gh_token_t t;
	const char *env_token = getenv("GPUHUB_ADMIN_TOKEN");
	char password[40] = "";
	int rc;

	if (hub->n_users > 0)
		return 0;
	memset(&u, 0, sizeof(u));
	gh_strlcpy(u.name, "admin", sizeof(u.name));
	gh_strlcpy(u.display_name, "Administrator", sizeof(u.display_name));
	u.role = GH_ROLE_ADMIN;
	u.created_at = gh_now_ms();
	if (!env_token || !env_token[0]) {
		auth_random_hex(password, sizeof(password), 12);
		rc = auth_password_hash(password, u.pw_hash, sizeof(u.pw_hash));
		if (rc)
			return rc;
	}
	if ((rc = hub_txn_begin(hub)))
		return rc;
	if ((rc = store_user_put(hub->store, &u)) || (rc = on_user(hub, &u)))
		goto fail;
	if (env_token && env_token[0]) {
		memset(&t, 0, sizeof(t));
		if (hash_secret(env_token, t.hash) != 0) {
			GH_ERROR("GPUHUB_ADMIN_TOKEN must be 16 to 512 characters long");
			rc = GH_EINVAL;
			goto fail;
		}
		t.user_id = u.id;
		t.kind = GH_TOKEN_API;
		gh_strlcpy(t.note, "GPUHUB_ADMIN_TOKEN", sizeof(t.note));
		snprintf(t.prefix, sizeof(t.prefix), "%.7s", env_token);
		t.created_at = u.created_at;
		if ((rc = token_insert(hub, &t)))
			goto fail;
	}
	hub_emit(hub, 0, u.id, "user.created", 0, -1, "first start: administrator account 'admin' created");
	if ((rc = hub_txn_commit(hub)))
		return rc;
	if (env_token && env_token[0]) {
		GH_INFO("first start: created user 'admin' (role admin) whose API token is GPUHUB_ADMIN_TOKEN");
	} else {
		GH_WARN("first start: created user 'admin' (role admin) with one-time password: %s", password);
		GH_WARN("sign in with 'gpuhub login --user admin' or POST /api/v1/login, then set a new password");
	}
	return 0;
fail:
	hub_txn_rollback(hub);
	hub->n_users = 0;
	hub->n_tokens = 0;
	return rc;
}

/* --- lookups --- */

int hub_user_count(const hub_t *hub) { return hub->n_users; }
const gh_user_t *hub_user_at(const hub_t *hub, int i) { return &hub->users[i]; }

const gh_user_t *hub_user_find(const hub_t *hub, const char *name)
{
	for (int i = 0; i < hub->n_users; i++)
		if (strcmp(hub->users[i].name, name) == 0)
			return &hub->users[i];
	return NULL;
}

static int user_index(const hub_t *hub, int64_t id)
{
	int lo = 0, hi = hub->n_users - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		if (hub->users[mid].id == id)
			return mid;
		if (hub->users[mid].id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

const gh_user_t *hub_user_by_id(const hub_t *hub, int64_t id)
{
	int i = user_index(hub, id);
	return i < 0 ? NULL : &hub->users[i];
}

static gh_token_t *token_by_hash(hub_t *hub, const unsigned char hash[32])
{
	for (int i = 0; i < hub->n_tokens; i++)
		if (auth_hash_equal(hub->tokens[i].hash, hash))
			return &hub->tokens[i];
	return NULL;
}

static void token_remove_at(hub_t *hub, int i)
{
	memmove(&hub->tokens[i], &hub->tokens[i + 1], (size_t)(hub->n_tokens - i - 1) * sizeof(gh_token_t));
	hub->n_tokens--;
}

const gh_user_t *hub_authenticate(hub_t *hub, const char *secret, gh_token_kind_t *kind_out, int64_t *token_id_out)
{
	unsigned char hash[32];
	gh_token_t *t;
	const gh_user_t *u;
	int64_t now;

	if (hash_secret(secret, hash) != 0 || !(t = token_by_hash(hub, hash)))
		return NULL;
	now = gh_now_ms();
	if (t->expires_at && t->expires_at <= now)
		return NULL;
	u = hub_user_by_id(hub, t->user_id);
	if (!u || u->disabled)
		return NULL;
	if (now - t->last_used_at > 60000) {
		t->last_used_at = now;
		if (store_token_put(hub->store, t) != 0)
			GH_WARN("could not record the use of token %lld", (long long)t->id);
	} else {
		t->last_used_at = now;
	}
	if (kind_out)
		*kind_out = t->kind;
	if (token_id_out)
		*token_id_out = t->id;
	return u;
}

int hub_login(hub_t *hub, const char *username, const char *password, char *secret, size_t secretlen,
              int64_t *expires_at, const gh_user_t **user)
{
	const gh_user_t *u = hub_user_find(hub, username);
	gh_token_t t;
	int rc;

	/* verify against a fixed hash when the user is unknown, so timing does
	 * not tell which names exist */
	static char dummy[GH_PWHASH_MAX];
	if (!dummy[0])
		auth_password_hash("not-a-real-password", dummy, sizeof(dummy));
	if (!u || !u->pw_hash[0] || u->disabled) {
		auth_password_verify(dummy, password);
		return GH_EAUTH;
	}
	if (auth_password_verify(u->pw_hash, password) != 0)
		return GH_EAUTH;
	if (secretlen < AUTH_TOKEN_LEN + 1)
		return GH_EINVAL;
	memset(&t, 0, sizeof(t));
	if ((rc = auth_token_new(secret, secretlen, t.hash)))
		return rc;
	t.user_id = u->id;
	t.kind = GH_TOKEN_LOGIN;
	t.created_at = gh_now_ms();
	t.expires_at = t.created_at + (int64_t)hub->cfg.login_ttl_hours * 3600 * 1000;
	snprintf(t.prefix, sizeof(t.prefix), "%.*s", AUTH_TOKEN_PREFIX, secret);
	gh_strlcpy(t.note, "login", sizeof(t.note));
	if ((rc = token_insert(hub, &t)))
		return rc;
	GH_INFO("user %s signed in", u->name);
	*expires_at = t.expires_at;
	*user = u;
	return 0;
}

int hub_logout(hub_t *hub, const char *secret)
{
	unsigned char hash[32];
	gh_token_t *t;
	int rc;

	if (hash_secret(secret, hash) != 0 || !(t = token_by_hash(hub, hash)) || t->kind != GH_TOKEN_LOGIN)
		return GH_ENOTFOUND;
	rc = store_token_delete(hub->store, t->id);
	if (rc == 0)
		token_remove_at(hub, (int)(t - hub->tokens));
	return rc;
}

/* --- users --- */

static int admin_count(const hub_t *hub)
{
	int n = 0;
	for (int i = 0; i < hub->n_users; i++)
		n += hub->users[i].role == GH_ROLE_ADMIN && !hub->users[i].disabled;
	return n;
}

int hub_user_create(hub_t *hub, const gh_user_t *tmpl, const char *password, int64_t actor_id,
                    const gh_user_t **out, char *why, size_t whylen)
{
	gh_user_t u = *tmpl;
	int rc;

	if (!gh_name_valid(u.name)) {
		snprintf(why, whylen, "name must match [a-z0-9][a-z0-9._-]{0,62}");
		return GH_EINVAL;
	}
	if (hub_user_find(hub, u.name)) {
		snprintf(why, whylen, "a user named '%s' already exists", u.name);
		return GH_EEXIST;
	}
	u.id = 0;
	u.pw_hash[0] = '\0';
	if (password) {
		if ((rc = auth_password_policy(password, why, whylen)))
			return rc;
		if ((rc = auth_password_hash(password, u.pw_hash, sizeof(u.pw_hash))))
			return rc;
	}
	u.created_at = gh_now_ms();
	if (gh_grow((void **)&hub->users, &hub->cap_users, hub->n_users + 1, sizeof(u)))
		return GH_ENOMEM;
	if ((rc = hub_txn_begin(hub)))
		return rc;
	if ((rc = store_user_put(hub->store, &u)) ||
	    (rc = hub_emit(hub, 0, actor_id, "user.created", 0, -1, "user %s created with role %s", u.name,
	                   u.role == GH_ROLE_ADMIN ? "admin" : "user"))) {
		hub_txn_rollback(hub);
		return rc;
	}
	if ((rc = hub_txn_commit(hub)))
		return rc;
	hub->users[hub->n_users++] = u;
	GH_INFO("user %s created", u.name);
	*out = &hub->users[hub->n_users - 1];
	return 0;
}

int hub_user_update(hub_t *hub, const gh_user_t *nu, const char *password, int64_t actor_id,
                    const gh_user_t **out, char *why, size_t whylen)
{
	gh_user_t *cur = (gh_user_t *)hub_user_find(hub, nu->name);
	gh_user_t u;
	int rc;

	if (!cur) {
		snprintf(why, whylen, "no user named '%s'", nu->name);
		return GH_ENOTFOUND;
	}
	u = *cur;
	gh_strlcpy(u.display_name, nu->display_name, sizeof(u.display_name));
	gh_strlcpy(u.email, nu->email, sizeof(u.email));
	gh_strlcpy(u.group, nu->group, sizeof(u.group));
	u.role = nu->role;
	u.disabled = nu->disabled;
	if (cur->role == GH_ROLE_ADMIN && !cur->disabled && (u.role != GH_ROLE_ADMIN || u.disabled) &&
	    admin_count(hub) <= 1) {
		snprintf(why, whylen, "'%s' is the last active administrator", u.name);
		return GH_ESTATE;
	}
	if (password) {
		if ((rc = auth_password_policy(password, why, whylen)))
			return rc;
		if ((rc = auth_password_hash(password, u.pw_hash, sizeof(u.pw_hash))))
			return rc;
	}
	if ((rc = hub_txn_begin(hub)))
		return rc;
	if ((rc = store_user_put(hub->store, &u)) ||
	    (rc = hub_emit(hub, 0, actor_id, "user.updated", 0, -1, "user %s updated%s", u.name,
	                   password ? " (password changed)" : ""))) {
		hub_txn_rollback(hub);
		return rc;
	}
	if ((rc = hub_txn_commit(hub)))
		return rc;
	*cur = u;
	*out = cur;
	return 0;
}

int hub_user_delete(hub_t *hub, const char *name, int64_t actor_id, char *why, size_t whylen)
{
	const gh_user_t *u = hub_user_find(hub, name);
	int64_t id;
	int rc, idx;

	if (!u) {
		snprintf(why, whylen, "no user named '%s'", name);
		return GH_ENOTFOUND;
	}
	if (u->id == actor_id) {
		snprintf(why, whylen, "you cannot delete your own account");
		return GH_ESTATE;
	}
	if (u->role == GH_ROLE_ADMIN && !u->disabled && admin_count(hub) <= 1) {
		snprintf(why, whylen, "'%s' is the last active administrator", name);
		return GH_ESTATE;
	}
	id = u->id;
	hub_sessions_drop_user(hub, id);
	if ((rc = hub_txn_begin(hub)))
		return rc;
	if ((rc = store_user_delete(hub->store, id)) ||
	    (rc = hub_emit(hub, 0, actor_id, "user.deleted", 0, -1, "user %s deleted", name))) {
		hub_txn_rollback(hub);
		return rc;
	}
	if ((rc = hub_txn_commit(hub)))
		return rc;
	hub_tokens_drop_user(hub, id);
	hub_snap_drop_user(hub, id);
	idx = user_index(hub, id);
	memmove(&hub->users[idx], &hub->users[idx + 1], (size_t)(hub->n_users - idx - 1) * sizeof(gh_user_t));
	hub->n_users--;
	GH_INFO("user %s deleted", name);
	return 0;
}

/* --- tokens --- */

int hub_token_count(const hub_t *hub) { return hub->n_tokens; }
const gh_token_t *hub_token_at(const hub_t *hub, int i) { return &hub->tokens[i]; }

void hub_tokens_drop_user(hub_t *hub, int64_t user_id)
{
	for (int i = hub->n_tokens - 1; i >= 0; i--)
		if (hub->tokens[i].user_id == user_id)
			token_remove_at(hub, i);
}

int hub_token_create(hub_t *hub, int64_t user_id, const char *note, int expires_days, char *secret,
                     size_t secretlen, const gh_token_t **out)
{
	gh_token_t t;
	int rc;

	memset(&t, 0, sizeof(t));
	if ((rc = auth_token_new(secret, secretlen, t.hash)))
		return rc;
	t.user_id = user_id;
	t.kind = GH_TOKEN_API;
	t.created_at = gh_now_ms();
	t.expires_at = expires_days > 0 ? t.created_at + (int64_t)expires_days * 86400 * 1000 : 0;
	snprintf(t.prefix, sizeof(t.prefix), "%.*s", AUTH_TOKEN_PREFIX, secret);
	gh_strlcpy(t.note, note ? note : "", sizeof(t.note));
	if ((rc = token_insert(hub, &t)))
		return rc;
	*out = &hub->tokens[hub->n_tokens - 1];
	return 0;
}

int hub_token_revoke(hub_t *hub, int64_t user_id, int64_t token_id)
{
	for (int i = 0; i < hub->n_tokens; i++) {
		if (hub->tokens[i].id == token_id && hub->tokens[i].user_id == user_id) {
			int rc = store_token_delete(hub->store, token_id);
			if (rc == 0)
				token_remove_at(hub, i);
			return rc;
		}
	}
	return GH_ENOTFOUND;
}
