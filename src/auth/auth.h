/*
 * auth.h — secrets: password hashing and API/login tokens.
 *
 * Passwords: argon2id via libsodium (crypto_pwhash_str, interactive limits).
 * Tokens: "gh_" + base64url(32 random bytes) (43 chars, no padding); only
 * SHA-256(token) is stored. Comparisons are constant-time.
 */
#ifndef GH_AUTH_H
#define GH_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_TOKEN_LEN    46   /* "gh_" + 43, without NUL */
#define AUTH_TOKEN_PREFIX 7    /* characters kept for listings: "gh_AbCd" */

/* Must be called once before any other auth_ function; 0 or GH_EINTERNAL. */
int auth_init(void);
/* Hashes password into out (at least 128 bytes). 0, GH_EINVAL (empty or
 * longer than 1024 bytes) or GH_ENOMEM. */
int auth_password_hash(const char *password, char *out, size_t outlen);
/* 0 when password matches hash, GH_EAUTH otherwise. */
int auth_password_verify(const char *hash, const char *password);
/* Checks a new password against the policy (length 8..1024); 0 or GH_EINVAL
 * with a reason in why. */
int auth_password_policy(const char *password, char *why, size_t whylen);
/* New token into out (>= AUTH_TOKEN_LEN+1 bytes) and its SHA-256 into hash. */
int auth_token_new(char *out, size_t outlen, unsigned char hash[32]);
/* SHA-256 of a presented token; GH_EINVAL if it is not well formed. */
int auth_token_hash(const char *token, unsigned char hash[32]);
/* Constant-time equality of two hashes. */
int auth_hash_equal(const unsigned char a[32], const unsigned char b[32]);
/* Random hex string of 2*nbytes chars into out. */
int auth_random_hex(char *out, size_t outlen, size_t nbytes);

#endif
