/*
 * auth.c — see auth.h. The secrets gpuhub keeps: password hashes and API /
 * login tokens, all built on libsodium so no cryptography is written here.
 *
 * Passwords are hashed with argon2id (crypto_pwhash_str) at libsodium's
 * "interactive" limits: about 64 MiB and a few tens of milliseconds per
 * hash, which makes offline guessing expensive while a login stays fast.
 * The encoded string carries its own salt and parameters, so verify needs
 * nothing else and stronger limits can be adopted later without a
 * migration.
 *
 * Tokens are 32 random bytes shown once to their owner as
 *
 *     gh_ + base64url(32 bytes), no padding      (3 + 43 = 46 characters)
 *
 * and only SHA-256 of that whole string is stored. A token carries 256
 * bits of entropy, so a fast hash is enough (there is nothing to guess),
 * and a leaked database does not leak usable tokens. The "gh_" prefix
 * lets secret scanners and people recognise a gpuhub token on sight.
 *
 * A presented token is checked for exactly that shape before hashing —
 * right length, prefix, alphabet, and canonical base64 (the unused low
 * bits of the last character are zero) — so junk never reaches the store.
 * The shape is not secret; only the hash comparison must be constant
 * time, and that goes through sodium_memcmp.
 *
 * A caller checking a login for an unknown user should still run
 * auth_password_verify against some fixed hash, so the answer takes the
 * same time whether or not the user exists.
 */
#include "auth/auth.h"
#include "common/err.h"

#include <sodium.h>
#include <string.h>

#define AUTH_PW_MIN      8     /* characters (UTF-8 code points) */
#define AUTH_PW_MAX      1024  /* bytes */
#define AUTH_TOKEN_BYTES 32
#define AUTH_TOKEN_TAG   "gh_"
#define AUTH_TOKEN_TAGLEN 3

int auth_init(void)
{
	/* 0: initialised now, 1: already was; both are fine. */
	return sodium_init() < 0 ? GH_EINTERNAL : 0;
}

int auth_password_hash(const char *password, char *out, size_t outlen)
{
	size_t len;

	if (out && outlen)
		out[0] = '\0';
	if (!password || !out || outlen < crypto_pwhash_STRBYTES)
		return GH_EINVAL;
	len = strnlen(password, AUTH_PW_MAX + 1);
	if (len == 0 || len > AUTH_PW_MAX)
		return GH_EINVAL;
	/* The only way crypto_pwhash_str fails with valid limits is when it
	 * cannot get its working memory. */
	if (crypto_pwhash_str(out, password, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		out[0] = '\0';
		return GH_ENOMEM;
	}
	return 0;
}

int auth_password_verify(const char *hash, const char *password)
{
	size_t len;

	if (!hash || !password)
		return GH_EAUTH;
	/* A stored hash always fits in crypto_pwhash_STRBYTES with its NUL;
	 * anything longer did not come from auth_password_hash. */
	if (strnlen(hash, crypto_pwhash_STRBYTES) >= crypto_pwhash_STRBYTES)
		return GH_EAUTH;
	len = strnlen(password, AUTH_PW_MAX + 1);
	if (len == 0 || len > AUTH_PW_MAX)
		return GH_EAUTH;
	if (crypto_pwhash_str_verify(hash, password, len) != 0)
		return GH_EAUTH;
	return 0;
}

/* Number of UTF-8 code points in the first len bytes of s: every byte
 * that is not a continuation byte (10xxxxxx) starts one. */
static size_t auth_utf8_chars(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

static void auth_why(char *why, size_t whylen, const char *text)
{
	if (why && whylen) {
		strncpy(why, text, whylen - 1);
		why[whylen - 1] = '\0';
	}
}

int auth_password_policy(const char *password, char *why, size_t whylen)
{
	size_t len;

	auth_why(why, whylen, "");
	if (!password) {
		auth_why(why, whylen, "a password is required");
		return GH_EINVAL;
	}
	len = strnlen(password, AUTH_PW_MAX + 1);
	if (len > AUTH_PW_MAX) {
		auth_why(why, whylen, "the password must be at most 1024 bytes long");
		return GH_EINVAL;
	}
	if (auth_utf8_chars(password, len) < AUTH_PW_MIN) {
		auth_why(why, whylen, "the password must be at least 8 characters long");
		return GH_EINVAL;
	}
	return 0;
}

int auth_token_new(char *out, size_t outlen, unsigned char hash[32])
{
	unsigned char raw[AUTH_TOKEN_BYTES];

	if (out && outlen)
		out[0] = '\0';
	if (!out || !hash || outlen < AUTH_TOKEN_LEN + 1)
		return GH_EINVAL;
	randombytes_buf(raw, sizeof raw);
	memcpy(out, AUTH_TOKEN_TAG, AUTH_TOKEN_TAGLEN);
	sodium_bin2base64(out + AUTH_TOKEN_TAGLEN, outlen - AUTH_TOKEN_TAGLEN, raw, sizeof raw,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
	/* The layout in auth.h is a promise to every caller. */
	if (strlen(out) != AUTH_TOKEN_LEN) {
		sodium_memzero(out, outlen);
		return GH_EINTERNAL;
	}
	crypto_hash_sha256(hash, (const unsigned char *)out, AUTH_TOKEN_LEN);
	return 0;
}

static int auth_b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
	       || c == '-' || c == '_';
}

/* True when token is exactly "gh_" followed by the canonical unpadded
 * base64url encoding of 32 bytes. */
static int auth_token_well_formed(const char *token)
{
	unsigned char raw[AUTH_TOKEN_BYTES];
	const char *body = token + AUTH_TOKEN_TAGLEN, *end = NULL;
	size_t i, rawlen = 0;
	int ok;

	if (strnlen(token, AUTH_TOKEN_LEN + 1) != AUTH_TOKEN_LEN)
		return 0;
	if (memcmp(token, AUTH_TOKEN_TAG, AUTH_TOKEN_TAGLEN) != 0)
		return 0;
	/* The alphabet is checked here: libsodium's constant-time decoder
	 * (1.0.18) maps bytes >= 0x80 to valid digits instead of refusing
	 * them, so a token with a stray UTF-8 byte would otherwise pass. */
	for (i = 0; i < AUTH_TOKEN_LEN - AUTH_TOKEN_TAGLEN; i++)
		if (!auth_b64url_char(body[i]))
			return 0;
	/* The decoder refuses non-zero leftover bits in the last character,
	 * which makes the accepted spelling of each token unique. */
	ok = sodium_base642bin(raw, sizeof raw, body, AUTH_TOKEN_LEN - AUTH_TOKEN_TAGLEN, NULL,
			       &rawlen, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0
	     && rawlen == sizeof raw && end == token + AUTH_TOKEN_LEN;
	sodium_memzero(raw, sizeof raw);
	return ok;
}

int auth_token_hash(const char *token, unsigned char hash[32])
{
	if (!token || !hash || !auth_token_well_formed(token))
		return GH_EINVAL;
	crypto_hash_sha256(hash, (const unsigned char *)token, AUTH_TOKEN_LEN);
	return 0;
}

/* Predicate: 1 when the two hashes are equal, 0 otherwise. The time taken
 * does not depend on where they differ. */
int auth_hash_equal(const unsigned char a[32], const unsigned char b[32])
{
	return sodium_memcmp(a, b, 32) == 0;
}

int auth_random_hex(char *out, size_t outlen, size_t nbytes)
{
	unsigned char chunk[64];
	size_t done = 0;

	if (out && outlen)
		out[0] = '\0';
	if (!out || outlen == 0 || nbytes == 0 || nbytes > (outlen - 1) / 2)
		return GH_EINVAL;
	while (done < nbytes) {
		size_t n = nbytes - done < sizeof chunk ? nbytes - done : sizeof chunk;

		randombytes_buf(chunk, n);
		sodium_bin2hex(out + 2 * done, outlen - 2 * done, chunk, n);
		done += n;
	}
	sodium_memzero(chunk, sizeof chunk);
	return 0;
}
