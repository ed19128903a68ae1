/*
 * test_snap.c — snapshot archives: the entry checks on hand-made names and
 * links with known answers, a create/extract round trip, and extraction of
 * hostile archives (written here with libarchive) that must leave nothing.
 */
#include <stddef.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "snapshot/snap.h"
#include "common/err.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static char why[SNAP_WHY];

static int check(const char *name, mode_t type, const char *link, const char *hard)
{
	return snap_entry_check(name, type, link, hard, why, sizeof(why));
}

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(check("work", S_IFDIR, NULL, NULL), 0);
	assert_int_equal(check("work/", S_IFDIR, NULL, NULL), 0);
	assert_int_equal(check("work/a/b.txt", S_IFREG, NULL, NULL), 0);
	assert_int_equal(check("home/proj/x", S_IFREG, NULL, NULL), 0);
	assert_int_equal(check("work/..hidden", S_IFREG, NULL, NULL), 0);
	assert_int_equal(check("work/a..b", S_IFREG, NULL, NULL), 0);

	assert_int_equal(check("/etc/passwd", S_IFREG, NULL, NULL), GH_EINVAL);
	assert_non_null(strstr(why, "absolute"));
	assert_int_equal(check("work/../x", S_IFREG, NULL, NULL), GH_EINVAL);
	assert_non_null(strstr(why, "'..'"));
	assert_int_equal(check("work/a/..", S_IFDIR, NULL, NULL), GH_EINVAL);
	assert_int_equal(check("./work/x", S_IFREG, NULL, NULL), GH_EINVAL);
	assert_int_equal(check("work//x", S_IFREG, NULL, NULL), GH_EINVAL);
	assert_int_equal(check("", S_IFREG, NULL, NULL), GH_EINVAL);
	assert_int_equal(check("etc/passwd", S_IFREG, NULL, NULL), GH_EINVAL);
	assert_non_null(strstr(why, "outside work/ and home/"));
	assert_int_equal(check("workx/a", S_IFREG, NULL, NULL), GH_EINVAL);
	assert_int_equal(check("work", S_IFREG, NULL, NULL), GH_EINVAL);
}

static void test_types(void **state)
{
	(void)state;
	assert_int_equal(check("work/null", S_IFCHR, NULL, NULL), GH_EINVAL);
	assert_non_null(strstr(why, "device"));
	assert_int_equal(check("work/sda", S_IFBLK, NULL, NULL), GH_EINVAL);
	assert_int_equal(check("work/p", S_IFIFO, NULL, NULL), GH_EINVAL);
	assert_non_null(strstr(why, "FIFO"));
	assert_int_equal(check("work/s", S_IFSOCK, NULL, NULL), GH_EINVAL);
	assert_int_equal(check("work/h", S_IFREG, NULL, "work/a"), GH_EINVAL);
	assert_non_null(strstr(why, "hard link"));
}

/* The worked example of snap_check.c, and the edges around it. */
static void test_symlinks(void **state)
{
	(void)state;
	assert_int_equal(check("work/a/b/l", S_IFLNK, "../c", NULL), 0);
	assert_int_equal(check("work/a/b/l", S_IFLNK, "../../x", NULL), 0);
	assert_int_equal(check("work/a/b/l", S_IFLNK, "../../../x", NULL), GH_EINVAL);
	assert_non_null(strstr(why, "leading out of work/"));
	assert_int_equal(check("work/a/b/l", S_IFLNK, "/etc/passwd", NULL), GH_EINVAL);
	assert_non_null(strstr(why, "absolute"));
	assert_int_equal(check("work/l", S_IFLNK, "x", NULL), 0);
	assert_int_equal(check("work/l", S_IFLNK, "./x/./y", NULL), 0);
	assert_int_equal(check("work/l", S_IFLNK, "..", NULL), GH_EINVAL);
	assert_int_equal(check("work/l", S_IFLNK, "../home", NULL), GH_EINVAL);
	assert_int_equal(check("work/l", S_IFLNK, "a/../../x", NULL), GH_EINVAL);
	assert_int_equal(check("work/l", S_IFLNK, "a/../b", NULL), 0);
	assert_int_equal(check("home/p/l", S_IFLNK, "../p/q", NULL), 0);
	assert_int_equal(check("home/p/l", S_IFLNK, "../../work", NULL), GH_EINVAL);
	assert_int_equal(check("work/l", S_IFLNK, "", NULL), GH_EINVAL);
}

static void test_rel_path(void **state)
{
	(void)state;
	assert_true(snap_rel_path_ok("proj"));
	assert_true(snap_rel_path_ok(".config/app"));
	assert_false(snap_rel_path_ok(""));
	assert_false(snap_rel_path_ok("/etc"));
	assert_false(snap_rel_path_ok(".."));
	assert_false(snap_rel_path_ok("a/../b"));
	assert_false(snap_rel_path_ok("a/./b"));
	assert_false(snap_rel_path_ok("a//b"));
	assert_false(snap_rel_path_ok("a/"));
	assert_false(snap_rel_path_ok("a\nb"));
}

/* ---- archives on disk ---------------------------------------------------- */

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/gh-test-snap-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return snap_rmtree(dir);
}

static void put(const char *rel, const char *data, mode_t mode)
{
	char p[256];
	int fd;
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
	chmod(p, mode);
}

static void expect_file(const char *rel, const char *data, mode_t mode)
{
	char p[256], buf[256] = "";
	struct stat sb;
	int fd;
	ssize_t n;
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	assert_int_equal(lstat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, mode);
	fd = open(p, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, data);
}

static void test_round_trip(void **state)
{
	char p[256], q[256], out[256], link[256];
	snap_create_t spec = {0};
	snap_result_t res;
	snap_progress_t prog;
	ssize_t n;
	char hex[65];

	(void)state;
	snprintf(p, sizeof(p), "%s/w", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/w/sub", dir);
	mkdir(p, 0750);
	snprintf(p, sizeof(p), "%s/h", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/h/proj", dir);
	mkdir(p, 0700);
	put("w/a.txt", "alpha\n", 0640);
	put("w/sub/run.sh", "#!/bin/sh\n", 0755);
	put("w/empty", "", 0600);
	put("h/proj/n.md", "notes", 0644);
	put("h/other", "not archived", 0644);
	snprintf(p, sizeof(p), "%s/w/sub/l", dir);
	assert_int_equal(symlink("../a.txt", p), 0);
	snprintf(p, sizeof(p), "%s/w/datasets", dir); /* leads out: left out */
	assert_int_equal(symlink("/etc", p), 0);

	snprintf(p, sizeof(p), "%s/w", dir);
	snprintf(q, sizeof(q), "%s/h", dir);
	snprintf(out, sizeof(out), "%s/s.tar.zst", dir);
	spec.work_dir = p;
	spec.home_dir = q;
	spec.home_paths[0] = "proj";
	spec.n_home_paths = 1;
	spec.out_path = out;
	atomic_init(&prog.percent, -1);
	atomic_init(&prog.bytes_in, 0);
	assert_int_equal(snap_create(&spec, &prog, &res, why, sizeof(why)), 0);
	assert_int_equal(atomic_load(&prog.percent), 100);
	assert_int_equal(res.files, 8); /* work, a.txt, sub, run.sh, l, empty, home/proj, n.md */
	assert_int_equal(res.skipped, 1);
	assert_int_equal(snap_sha256_file(out, hex), 0);
	assert_string_equal(hex, res.sha256);

	int64_t entries;
	char tops[64];
	assert_int_equal(snap_check(out, &entries, tops, sizeof(tops), why, sizeof(why)), 0);
	assert_int_equal(entries, 8);
	assert_string_equal(tops, "[\"proj\"]");

	snprintf(link, sizeof(link), "%s/x", dir);
	assert_int_equal(snap_extract(out, link, -1, -1, why, sizeof(why)), 0);
	expect_file("x/work/a.txt", "alpha\n", 0640);
	expect_file("x/work/sub/run.sh", "#!/bin/sh\n", 0755);
	expect_file("x/work/empty", "", 0600);
	expect_file("x/home/proj/n.md", "notes", 0644);
	snprintf(p, sizeof(p), "%s/x/home/other", dir);
	assert_int_equal(access(p, F_OK), -1);
	snprintf(p, sizeof(p), "%s/x/work/sub/l", dir);
	n = readlink(p, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = '\0';
	assert_string_equal(link, "../a.txt");

	/* a limit below the archive's size fails and leaves no file */
	unlink(out);
	spec.max_bytes = 64;
	assert_int_equal(snap_create(&spec, NULL, &res, why, sizeof(why)), GH_ENOCAP);
	assert_int_equal(res.over_limit, 1);
	assert_int_equal(access(out, F_OK), -1);
}

/* Writes an uncompressed tar with one directory "work" and then entry. */
static void hostile(const char *path, const char *name, mode_t type, const char *link, const char *hard)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	archive_entry_set_pathname(e, "work");
	archive_entry_set_filetype(e, AE_IFDIR);
	archive_entry_set_perm(e, 0755);
	archive_write_header(a, e);
	archive_entry_clear(e);
	archive_entry_set_pathname(e, "work/ok.txt");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, 2);
	archive_write_header(a, e);
	archive_write_data(a, "ok", 2);
	archive_entry_clear(e);
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, 0644);
	if (link)
		archive_entry_set_symlink(e, link);
	if (hard)
		archive_entry_set_hardlink(e, hard);
	if (type == AE_IFCHR)
		archive_entry_set_rdev(e, makedev(1, 3));
	archive_entry_set_size(e, 0);
	archive_write_header(a, e);
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
}

static void test_hostile_extract_leaves_nothing(void **state)
{
	static const struct {
		const char *name;
		mode_t type;
		const char *link, *hard;
	} cases[] = {
		{"work/../../escaped", AE_IFREG, NULL, NULL},
		{"/tmp/gh-test-snap-absolute", AE_IFREG, NULL, NULL},
		{"work/null", AE_IFCHR, NULL, NULL},
		{"work/fifo", AE_IFIFO, NULL, NULL},
		{"work/out", AE_IFLNK, "../../..", NULL},
		{"work/abs", AE_IFLNK, "/etc", NULL},
		{"work/hard", AE_IFREG, NULL, "/etc/passwd"},
		{"elsewhere/x", AE_IFREG, NULL, NULL},
	};
	char tar[256], dest[256];
	int64_t entries;

	(void)state;
	snprintf(tar, sizeof(tar), "%s/h.tar", dir);
	snprintf(dest, sizeof(dest), "%s/dest", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unlink(tar);
		hostile(tar, cases[i].name, cases[i].type, cases[i].link, cases[i].hard);
		assert_int_equal(snap_check(tar, &entries, NULL, 0, why, sizeof(why)), GH_EINVAL);
		assert_non_null(strstr(why, "archive entry"));
		assert_int_equal(snap_extract(tar, dest, -1, -1, why, sizeof(why)), GH_EINVAL);
		assert_int_equal(access(dest, F_OK), -1); /* not even the good entries stay */
	}
	assert_int_equal(access("/tmp/gh-test-snap-absolute", F_OK), -1);
	/* and something that is no archive */
	put("junk", "this is not a tar file at all", 0644);
	snprintf(tar, sizeof(tar), "%s/junk", dir);
	assert_int_equal(snap_check(tar, &entries, NULL, 0, why, sizeof(why)), GH_EINVAL);
	assert_int_equal(snap_extract(tar, dest, -1, -1, why, sizeof(why)), GH_EINVAL);
	assert_int_equal(access(dest, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_symlinks),
		cmocka_unit_test(test_rel_path),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_extract_leaves_nothing, setup, teardown),
	};
	return cmocka_run_group_tests_name("snap", tests, NULL, NULL);
}
