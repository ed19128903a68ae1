/*
 * snap.c — writing, checking and extracting snapshot archives (snap.h).
 *
 * Writing: the trees are walked with libarchive's disk reader (symlinks
 * stored as links, never followed); each entry is renamed to its place in
 * the layout and written as pax + zstd through our own write callback,
 * which counts the compressed bytes (the quota limit) and feeds SHA-256
 * (OpenSSL EVP) as the bytes go out, so the file is read once.
 *
 * Extracting: the calling thread gets a working directory of its own
 * (unshare(CLONE_FS)) inside the new destination, so every entry keeps its
 * relative name and libarchive's ARCHIVE_EXTRACT_SECURE_NODOTDOT,
 * _NOABSOLUTEPATHS and _SYMLINKS apply on top of snap_entry_check().
 */
#include "snapshot/snap.h"
#include "common/err.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------ */

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)f;
	if (flag == FTW_DP)
		return rmdir(p) != 0 && errno != ENOENT ? -1 : 0;
	return unlink(p) != 0 && errno != ENOENT ? -1 : 0;
}

int snap_rmtree(const char *path)
{
	struct stat sb;
	if (lstat(path, &sb) != 0)
		return errno == ENOENT ? 0 : GH_EIO;
	return nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : GH_EIO;
}

static void to_hex(const unsigned char *d, unsigned n, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	for (unsigned i = 0; i < n; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 15];
	}
	hex[2 * n] = '\0';
}

int snap_sha256_file(const char *path, char hex[65])
{
	unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return GH_EIO;
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		rc = GH_EIO;
	while (rc == 0 && (n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = GH_EIO;
		} else if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
			rc = GH_EIO;
		}
	}
	if (rc == 0 && EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
		rc = GH_EIO;
	if (rc == 0)
		to_hex(md, mdlen, hex);
	EVP_MD_CTX_free(ctx);
	close(fd);
	return rc;
}

/* ---- writing -------------------------------------------------------------- */

typedef struct {
	int fd;
	EVP_MD_CTX *md;
	int64_t written, max;
	int over;
} out_t;

static la_ssize_t out_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
	out_t *o = ctx;
	const char *p = buf;
	size_t left = len;

	if (o->max > 0 && o->written + (int64_t)len > o->max) {
		o->over = 1;
		archive_set_error(a, EFBIG, "the snapshot passed the size limit");
		return -1;
	}
	while (left > 0) {
		ssize_t n = write(o->fd, p, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			archive_set_error(a, errno, "write failed");
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	EVP_DigestUpdate(o->md, buf, len);
	o->written += (int64_t)len;
	return (la_ssize_t)len;
}

static __thread int64_t t_total; /* the running sum of one tree_bytes() walk */

static int sum_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)p;
	(void)f;
	if (flag == FTW_F && S_ISREG(sb->st_mode))
		t_total += sb->st_size;
	return 0;
}

static int64_t tree_bytes(const char *dir)
{
	t_total = 0;
	nftw(dir, sum_one, 32, FTW_PHYS);
	return t_total;
}

typedef struct {
	struct archive *w;
	snap_progress_t *prog;
	int64_t total, done;
	int64_t files, skipped;
	char *why;
	size_t whylen;
} wctx_t;

static void progress(wctx_t *c)
{
	if (!c->prog)
		return;
	atomic_store(&c->prog->bytes_in, c->done);
	atomic_store(&c->prog->percent, c->total > 0 ? (int)(c->done * 99 / c->total) : 0);
}

static int copy_file(wctx_t *c, const char *src, const char *name)
{
	char buf[65536];
	ssize_t n;
	int fd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		snprintf(c->why, c->whylen, "cannot read %s: %s", name, strerror(errno));
		return GH_EIO;
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(c->why, c->whylen, "cannot read %s: %s", name, strerror(errno));
			close(fd);
			return GH_EIO;
		}
		if (archive_write_data(c->w, buf, (size_t)n) != n) {
			close(fd);
			return GH_EIO;
		}
		c->done += n;
		progress(c);
	}
	close(fd);
	return 0;
}

/* Archives the tree at src under the name prefix (e.g. "work" or
 * "home/proj"). A missing src is an error only when required. */
static int add_tree(wctx_t *c, const char *src, const char *prefix)
{
	struct archive *disk = archive_read_disk_new();
	struct archive_entry *e;
	size_t srclen = strlen(src);
	char name[8192];
	int r, rc = 0;

	if (!disk)
		return GH_ENOMEM;
	archive_read_disk_set_symlink_physical(disk);
	archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_XATTR | ARCHIVE_READDISK_NO_ACL |
	                                         ARCHIVE_READDISK_NO_FFLAGS);
	if (archive_read_disk_open(disk, src) != ARCHIVE_OK) {
		snprintf(c->why, c->whylen, "cannot read %s: %s", prefix, archive_error_string(disk));
		archive_read_free(disk);
		return GH_EIO;
	}
	for (;;) {
		const char *path;
		mode_t type;

		e = archive_entry_new();
		r = archive_read_next_header2(disk, e);
		if (r == ARCHIVE_EOF) {
			archive_entry_free(e);
			break;
		}
		if (r < ARCHIVE_WARN) {
			snprintf(c->why, c->whylen, "cannot read %s: %s", prefix, archive_error_string(disk));
			archive_entry_free(e);
			rc = GH_EIO;
			break;
		}
		archive_read_disk_descend(disk);
		path = archive_entry_sourcepath(e);
		type = archive_entry_filetype(e);
		if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) {
			archive_entry_free(e); /* sockets, FIFOs, devices are left out */
			continue;
		}
		if (strncmp(path, src, srclen) != 0) {
			archive_entry_free(e);
			rc = GH_EINTERNAL;
			break;
		}
		snprintf(name, sizeof(name), "%s%s", prefix, path + srclen);
		if (type == AE_IFLNK) {
			char ignored[SNAP_WHY];
			if (snap_entry_check(name, AE_IFLNK, archive_entry_symlink(e), NULL, ignored, sizeof(ignored))) {
				c->skipped++;
				archive_entry_free(e);
				continue;
			}
		}
		archive_entry_set_pathname(e, name);
		archive_entry_set_nlink(e, 1);
		archive_entry_set_uname(e, NULL);
		archive_entry_set_gname(e, NULL);
		if (archive_write_header(c->w, e) != ARCHIVE_OK) {
			snprintf(c->why, c->whylen, "cannot write the archive: %s", archive_error_string(c->w));
			archive_entry_free(e);
			rc = GH_EIO;
			break;
		}
		c->files++;
		if (type == AE_IFREG && archive_entry_size(e) > 0 && (rc = copy_file(c, path, name)) != 0) {
			if (!c->why[0])
				snprintf(c->why, c->whylen, "cannot write the archive: %s", archive_error_string(c->w));
			archive_entry_free(e);
			break;
		}
		archive_entry_free(e);
	}
	archive_read_close(disk);
	archive_read_free(disk);
	return rc;
}

int snap_create(const snap_create_t *spec, snap_progress_t *prog, snap_result_t *res, char *why, size_t whylen)
{
	out_t o = {.fd = -1, .max = spec->max_bytes};
	wctx_t c = {.prog = prog, .why = why, .whylen = whylen};
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char src[8192], prefix[512];
	int rc = 0;

	memset(res, 0, sizeof(*res));
	why[0] = '\0';
	c.total = tree_bytes(spec->work_dir);
	for (int i = 0; i < spec->n_home_paths; i++) {
		snprintf(src, sizeof(src), "%s/%s", spec->home_dir, spec->home_paths[i]);
		c.total += tree_bytes(src);
	}
	if (prog)
		atomic_store(&prog->percent, 0);
	o.fd = open(spec->out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (o.fd < 0) {
		snprintf(why, whylen, "cannot create the archive: %s", strerror(errno));
		return GH_EIO;
	}
	o.md = EVP_MD_CTX_new();
	c.w = archive_write_new();
	if (!o.md || !c.w || EVP_DigestInit_ex(o.md, EVP_sha256(), NULL) != 1) {
		rc = GH_ENOMEM;
		goto out;
	}
	if (archive_write_set_format_pax_restricted(c.w) != ARCHIVE_OK ||
	    archive_write_add_filter_zstd(c.w) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(c.w, 1) != ARCHIVE_OK ||
	    archive_write_open2(c.w, &o, NULL, out_write, NULL, NULL) != ARCHIVE_OK) {
		snprintf(why, whylen, "cannot start the archive: %s", archive_error_string(c.w));
		rc = GH_EIO;
		goto out;
	}
	rc = add_tree(&c, spec->work_dir, "work");
	for (int i = 0; rc == 0 && i < spec->n_home_paths; i++) {
		struct stat sb;
		snprintf(src, sizeof(src), "%s/%s", spec->home_dir, spec->home_paths[i]);
		snprintf(prefix, sizeof(prefix), "home/%s", spec->home_paths[i]);
		if (lstat(src, &sb) != 0) {
			snprintf(why, whylen, "home path '%s' does not exist", spec->home_paths[i]);
			rc = GH_EINVAL;
			break;
		}
		rc = add_tree(&c, src, prefix);
	}
	if (rc == 0 && archive_write_close(c.w) != ARCHIVE_OK) {
		snprintf(why, whylen, "cannot finish the archive: %s", archive_error_string(c.w));
		rc = GH_EIO;
	}
	if (rc == 0 && fsync(o.fd) != 0) {
		snprintf(why, whylen, "cannot write the archive: %s", strerror(errno));
		rc = GH_EIO;
	}
	if (rc == 0 && EVP_DigestFinal_ex(o.md, md, &mdlen) != 1)
		rc = GH_EIO;
out:
	if (o.over) {
		res->over_limit = 1;
		snprintf(why, whylen, "the snapshot would pass the limit of %lld bytes", (long long)spec->max_bytes);
		rc = GH_ENOCAP;
	}
	if (c.w)
		archive_write_free(c.w);
	EVP_MD_CTX_free(o.md);
	close(o.fd);
	if (rc != 0) {
		unlink(spec->out_path);
		return rc;
	}
	to_hex(md, mdlen, res->sha256);
	res->size_bytes = o.written;
	res->files = c.files;
	res->skipped = c.skipped;
	if (prog)
		atomic_store(&prog->percent, 100);
	return 0;
}

/* ---- reading ------------------------------------------------------------ */

static struct archive *reader_open(const char *path, char *why, size_t whylen)
{
	struct archive *a = archive_read_new();
	if (!a)
		return NULL;
	archive_read_support_format_tar(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_xz(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		snprintf(why, whylen, "not a tar archive (plain, zstd, gzip or xz): %s", archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

static int check_entry(struct archive_entry *e, char *why, size_t whylen)
{
	return snap_entry_check(archive_entry_pathname(e), archive_entry_filetype(e), archive_entry_symlink(e),
	                        archive_entry_hardlink(e), why, whylen);
}

/* Adds the component after "home/" of name to the set tops. */
static void note_home_top(json_t *tops, const char *name)
{
	char top[256];
	size_t n, i;
	json_t *v;

	if (strncmp(name, "home/", 5) != 0 || !name[5])
		return;
	n = strcspn(name + 5, "/");
	if (n == 0 || n >= sizeof(top))
		return;
	memcpy(top, name + 5, n);
	top[n] = '\0';
	json_array_foreach(tops, i, v)
		if (strcmp(json_string_value(v), top) == 0)
			return;
	json_array_append_new(tops, json_string(top));
}

int snap_check(const char *path, int64_t *entries, char *home_tops, size_t topslen, char *why, size_t whylen)
{
	struct archive *a = reader_open(path, why, whylen);
	struct archive_entry *e;
	json_t *tops = json_array();
	int64_t n = 0;
	int r = ARCHIVE_OK, rc = 0;

	*entries = 0;
	if (!a) {
		json_decref(tops);
		return GH_EINVAL;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		if ((rc = check_entry(e, why, whylen)) != 0)
			break;
		note_home_top(tops, archive_entry_pathname(e));
		n++;
	}
	if (rc == 0 && home_tops) {
		char *t = json_dumps(tops, JSON_COMPACT);
		if (!t || strlen(t) >= topslen) {
			snprintf(why, whylen, "the archive has too many entries under home/");
			rc = GH_EINVAL;
		} else {
			memcpy(home_tops, t, strlen(t) + 1);
		}
		free(t);
	}
	json_decref(tops);
	if (rc == 0 && r != ARCHIVE_EOF) {
		snprintf(why, whylen, "the archive is damaged: %s", archive_error_string(a));
		rc = GH_EINVAL;
	}
	if (rc == 0 && n == 0) {
		snprintf(why, whylen, "the archive is empty");
		rc = GH_EINVAL;
	}
	archive_read_free(a);
	if (rc == 0)
		*entries = n;
	return rc;
}

static int extract_all(struct archive *a, struct archive *w, int uid, int gid, char *why, size_t whylen)
{
	struct archive_entry *e;
	const void *buf;
	size_t len;
	la_int64_t off;
	int r, rc;

	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		if ((rc = check_entry(e, why, whylen)) != 0)
			return rc;
		if (uid >= 0) {
			archive_entry_set_uid(e, uid);
			archive_entry_set_gid(e, gid);
		}
		if (archive_write_header(w, e) != ARCHIVE_OK) {
			snprintf(why, whylen, "cannot extract '%.200s': %s", archive_entry_pathname(e),
			         archive_error_string(w));
			return GH_EINVAL;
		}
		while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
			if (archive_write_data_block(w, buf, len, off) != ARCHIVE_OK) {
				snprintf(why, whylen, "cannot extract '%.200s': %s", archive_entry_pathname(e),
				         archive_error_string(w));
				return GH_EIO;
			}
		}
		if (r != ARCHIVE_EOF) {
			snprintf(why, whylen, "the archive is damaged: %s", archive_error_string(a));
			return GH_EINVAL;
		}
		if (archive_write_finish_entry(w) != ARCHIVE_OK) {
			snprintf(why, whylen, "cannot extract '%.200s': %s", archive_entry_pathname(e),
			         archive_error_string(w));
			return GH_EIO;
		}
	}
	if (r != ARCHIVE_EOF) {
		snprintf(why, whylen, "the archive is damaged: %s", archive_error_string(a));
		return GH_EINVAL;
	}
	return 0;
}

int snap_extract(const char *path, const char *dest, int uid, int gid, char *why, size_t whylen)
{
	struct archive *a = NULL, *w = NULL;
	int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
	            ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
	            ARCHIVE_EXTRACT_NO_OVERWRITE;
	int oldcwd = -1, rc = 0;

	why[0] = '\0';
	if (uid >= 0)
		flags |= ARCHIVE_EXTRACT_OWNER;
	if (mkdir(dest, 0700) != 0) {
		snprintf(why, whylen, "cannot create %s: %s", dest, strerror(errno));
		return GH_EIO;
	}
	/* this thread's own working directory, so relative names land in dest */
	if (unshare(CLONE_FS) != 0 || (oldcwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    chdir(dest) != 0) {
		snprintf(why, whylen, "cannot enter %s: %s", dest, strerror(errno));
		rc = GH_EIO;
		goto out;
	}
	if (!(a = reader_open(path, why, whylen))) {
		rc = GH_EINVAL;
		goto out;
	}
	if (!(w = archive_write_disk_new()) || archive_write_disk_set_options(w, flags) != ARCHIVE_OK) {
		rc = GH_ENOMEM;
		goto out;
	}
	rc = extract_all(a, w, uid, gid, why, whylen);
	if (rc == 0 && archive_write_close(w) != ARCHIVE_OK) {
		snprintf(why, whylen, "cannot finish extracting: %s", archive_error_string(w));
		rc = GH_EIO;
	}
out:
	if (w)
		archive_write_free(w);
	if (a)
		archive_read_free(a);
	if (oldcwd >= 0) {
		if (fchdir(oldcwd) != 0 && chdir("/") != 0)
			rc = rc ? rc : GH_EIO;
		close(oldcwd);
	}
	if (rc != 0)
		snap_rmtree(dest);
	return rc;
}
