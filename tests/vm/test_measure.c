// SPDX-License-Identifier: MIT
/*
 * VM test: what vigil.ko measures (issue "measure executables, ..." acceptance 1-6, 9).
 *
 * Environment: VIGIL_KO, the module; VIGIL_KERNEL, the running kernel's release. Tests run in
 * declaration order in one boot and share the module: the first loads it, the last locks the
 * policy (after which the module cannot be unloaded until reboot).
 */
#include <dlfcn.h>
#include <sys/mount.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "vm_util.h"

#define CONF_DIR "/tmp/vt-conf"
#define MAX_RECS 16

static char rules_with_conf[16384];

static void expect_digest(struct __test_metadata *_metadata, const struct vm_record *r,
			  const char *path)
{
	char hex[65], want[80];

	ASSERT_EQ(0, vm_sha256(path, hex));
	snprintf(want, sizeof(want), "sha256:%s", hex);
	EXPECT_STREQ(want, r->digest);
}

TEST(load)
{
	const char *ko = getenv("VIGIL_KO");
	int fd;

	ASSERT_NE(NULL, ko);
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, syscall(SYS_finit_module, fd, "", 0))
	TH_LOG("finit_module: %s", strerror(errno));
	close(fd);
}

TEST(boot_aggregate_first)
{
	struct vm_record r[2];

	ASSERT_LE(2, vm_records(NULL, r, 2));
	EXPECT_STREQ(VIGIL_BOOT_AGGREGATE_NAME, r[0].name);
	EXPECT_STREQ("vigil_policy", r[1].name);
	EXPECT_STREQ("ima-buf", r[1].tpl);
}

/* Acceptance 1: a fresh binary gives one record with its sha256sum; running it again, none. */
TEST(exec_fresh_binary)
{
	const char *path = "/tmp/vt-exec";
	char *argv[] = { (char *)path, NULL };
	struct vm_record r[MAX_RECS];

	ASSERT_EQ(0, vm_fresh_copy("/usr/bin/true", path));
	ASSERT_EQ(0, vm_records(path, NULL, 0));
	ASSERT_EQ(0, vm_run(argv));
	ASSERT_EQ(1, vm_records(path, r, MAX_RECS));
	expect_digest(_metadata, &r[0], path);
	EXPECT_STREQ("ima-ng", r[0].tpl);
	ASSERT_EQ(0, vm_run(argv));
	ASSERT_EQ(1, vm_records(path, NULL, 0));
}

/* Execute-only, run by nobody: vigil reads it regardless of the runner's permissions. */
TEST(exec_only_binary)
{
	const char *path = "/tmp/vt-exec-only";
	struct vm_record r[MAX_RECS];
	int status;
	pid_t pid;

	ASSERT_EQ(0, vm_fresh_copy("/usr/bin/true", path));
	ASSERT_EQ(0, chmod(path, 0111));
	pid = fork();
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		execl(path, path, (char *)NULL);
		_exit(3);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(1, vm_records(path, r, MAX_RECS));
	expect_digest(_metadata, &r[0], path);
}

/* A large binary is hashed whole: 32 MiB appended to a real one. */
TEST(exec_large_binary)
{
	const char *path = "/tmp/vt-large";
	char *argv[] = { (char *)path, NULL };
	struct vm_record r[MAX_RECS];

	ASSERT_EQ(0, vm_fresh_copy("/usr/bin/true", path));
	ASSERT_EQ(0, system("head -c 33554432 /dev/urandom >> /tmp/vt-large"));
	ASSERT_EQ(0, vm_run(argv));
	ASSERT_EQ(1, vm_records(path, r, MAX_RECS));
	expect_digest(_metadata, &r[0], path);
}

/* Under overlayfs the backing file's identity counts: a change made through the overlay
 * (copy-up) is measured again. */
TEST(overlayfs_binary)
{
	const char *path = "/tmp/vt-ovl/merged/bin";
	char *argv[] = { (char *)path, NULL };
	struct vm_record r[MAX_RECS];

	ASSERT_EQ(0, system("mkdir -p /tmp/vt-ovl/lower /tmp/vt-ovl/upper /tmp/vt-ovl/work "
			    "/tmp/vt-ovl/merged"));
	ASSERT_EQ(0, vm_fresh_copy("/usr/bin/true", "/tmp/vt-ovl/lower/bin"));
	ASSERT_EQ(0, mount("overlay", "/tmp/vt-ovl/merged", "overlay", 0,
			   "lowerdir=/tmp/vt-ovl/lower,upperdir=/tmp/vt-ovl/upper,"
			   "workdir=/tmp/vt-ovl/work"))
	TH_LOG("mount overlay: %s", strerror(errno));
	ASSERT_EQ(0, vm_run(argv));
	ASSERT_EQ(1, vm_records(path, r, MAX_RECS));
	expect_digest(_metadata, &r[0], path);
	ASSERT_EQ(0, vm_write_file(path, "changed\n", 8, O_APPEND));
	ASSERT_EQ(0, vm_run(argv));
	ASSERT_EQ(2, vm_records(path, r, MAX_RECS));
	expect_digest(_metadata, &r[1], path);
	EXPECT_NE(0, strcmp(r[0].digest, r[1].digest));
	umount("/tmp/vt-ovl/merged");
}

/* Acceptance 2: ld.so-mapped and dlopen()ed libraries, a script and its interpreter. */
TEST(shared_libraries)
{
	const char *lib = "/tmp/vt-libz.so";
	struct vm_record r[MAX_RECS];
	void *h;

	ASSERT_EQ(1, vm_records("/usr/lib/x86_64-linux-gnu/libc.so.6", r, MAX_RECS));
	expect_digest(_metadata, &r[0], "/usr/lib/x86_64-linux-gnu/libc.so.6");
	ASSERT_LE(1, vm_records("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", NULL, 0));
	ASSERT_EQ(0, vm_fresh_copy("/usr/lib/x86_64-linux-gnu/libz.so.1", lib));
	h = dlopen(lib, RTLD_NOW);
	ASSERT_NE(NULL, h) TH_LOG("dlopen: %s", dlerror());
	ASSERT_EQ(1, vm_records(lib, r, MAX_RECS));
	expect_digest(_metadata, &r[0], lib);
	dlclose(h);
}

TEST(script_and_interpreter)
{
	const char *interp = "/tmp/vt-sh", *script = "/tmp/vt-script";
	char *argv[] = { (char *)script, NULL };
	char text[256];
	struct vm_record r[MAX_RECS];

	ASSERT_EQ(0, vm_fresh_copy("/usr/bin/dash", interp));
	snprintf(text, sizeof(text), "#!%s\nexit 0\n# %ld\n", interp, random());
	ASSERT_EQ(0, vm_write_file(script, text, strlen(text), O_TRUNC));
	ASSERT_EQ(0, vm_run(argv));
	ASSERT_EQ(1, vm_records(script, r, MAX_RECS));
	expect_digest(_metadata, &r[0], script);
	ASSERT_EQ(1, vm_records(interp, r, MAX_RECS));
	expect_digest(_metadata, &r[0], interp);
}

static void module_path(char *buf, size_t size, const char *rel)
{
	const char *kernel = getenv("VIGIL_KERNEL");
	struct stat st;

	snprintf(buf, size, "/lib/modules/%s/kernel/%s.ko", kernel, rel);
	if (stat(buf, &st))
		snprintf(buf, size, "/lib/modules/%s/kernel/%s.ko.xz", kernel, rel);
}

/* Acceptance 3: finit_module (insmod) records the file as read, compressed or not. */
TEST(module_finit)
{
	char path[512], real[PATH_MAX];
	struct vm_record r[MAX_RECS];
	int fd, flags;

	module_path(path, sizeof(path), "lib/crc7");
	ASSERT_NE(NULL, realpath(path, real)); /* /lib is /usr/lib on Debian 12 */
	flags = strstr(path, ".xz") ? 4 /* MODULE_INIT_COMPRESSED_FILE */ : 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", path, strerror(errno));
	ASSERT_EQ(0, syscall(SYS_finit_module, fd, "", flags)) TH_LOG("%s", strerror(errno));
	close(fd);
	ASSERT_EQ(1, vm_records(real, r, MAX_RECS));
	expect_digest(_metadata, &r[0], path);
	EXPECT_EQ(0, syscall(SYS_delete_module, "crc7", O_NONBLOCK));
}

/* init_module(2) from a buffer: no file, the record names "[init_module]" and hashes the image. */
TEST(module_init_buffer)
{
	char path[512], cmd[1024];
	const char *plain = "/tmp/vt-crc-itu-t.ko";
	struct vm_record r[MAX_RECS];
	static char image[1 << 20];
	int n, before = vm_records("[init_module]", NULL, 0);

	module_path(path, sizeof(path), "lib/crc-itu-t");
	snprintf(cmd, sizeof(cmd), "%s '%s' > %s", strstr(path, ".xz") ? "xz -dc" : "cat", path,
		 plain);
	ASSERT_EQ(0, system(cmd));
	n = vm_read_all(plain, image, sizeof(image));
	ASSERT_LT(0, n);
	ASSERT_EQ(0, syscall(SYS_init_module, image, (unsigned long)n, ""))
	TH_LOG("init_module: %s", strerror(errno));
	ASSERT_EQ(before + 1, vm_records("[init_module]", r, MAX_RECS));
	expect_digest(_metadata, &r[before], plain);
	EXPECT_EQ(0, syscall(SYS_delete_module, "crc_itu_t", O_NONBLOCK));
}

/* Acceptance 4 setup: the active rules plus one path= rule for a configuration directory. */
TEST(policy_path_rule)
{
	char active[8192];

	ASSERT_EQ(0, mkdir(CONF_DIR, 0755));
	ASSERT_LT(0, vm_read_all(VFS VIGIL_FS_POLICY, active, sizeof(active)));
	snprintf(rules_with_conf, sizeof(rules_with_conf),
		 "%smeasure func=FILE_CHECK mask=MAY_READ path=" CONF_DIR "/\n", active);
	ASSERT_EQ(0, vm_write_policy(rules_with_conf));
	ASSERT_LT(0, vm_read_all(VFS VIGIL_FS_POLICY, active, sizeof(active)));
	EXPECT_STREQ(rules_with_conf, active);
}

static int read_once(const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (read(fd, buf, sizeof(buf)) < 0)
		buf[0] = 0;
	close(fd);
	return 0;
}

/* Acceptance 4: A, B, back to A: three records, digests A, B, A; files outside: none. */
TEST(config_file_changes)
{
	const char *path = CONF_DIR "/app.conf", *outside = "/tmp/vt-outside.conf";
	const char *contents[] = { "mode=run\n", "mode=debug\n", "mode=run\n" };
	struct vm_record r[MAX_RECS];
	char hex[3][65];
	int i;

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, vm_write_file(path, contents[i], strlen(contents[i]), O_TRUNC));
		ASSERT_EQ(0, vm_sha256(path, hex[i]));
		ASSERT_EQ(0, read_once(path));
		ASSERT_EQ(0, read_once(path));
	}
	ASSERT_EQ(3, vm_records(path, r, MAX_RECS));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, strcmp(r[i].digest + strlen("sha256:"), hex[i]));
		EXPECT_STREQ("ima-ng", r[i].tpl);
	}
	EXPECT_STREQ(r[0].digest, r[2].digest);
	ASSERT_EQ(0, vm_write_file(outside, "x=1\n", 4, O_TRUNC));
	ASSERT_EQ(0, read_once(outside));
	EXPECT_EQ(0, vm_records(outside, NULL, 0));
}

/* An O_DIRECT open is measured through a private page-cache instance (where the filesystem
 * supports O_DIRECT at all: tmpfs on 6.1 does not). */
TEST(config_file_odirect)
{
	const char *path = CONF_DIR "/direct.conf";
	struct vm_record r[MAX_RECS];
	int fd;

	ASSERT_EQ(0, vm_write_file(path, "direct=1\n", 9, O_TRUNC));
	fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0 && errno == EINVAL)
		SKIP(return, "O_DIRECT not supported on this filesystem");
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(1, vm_records(path, r, MAX_RECS));
	expect_digest(_metadata, &r[0], path);
}

/* Acceptance 5: 16 first executions at once, one record. */
TEST(parallel_first_exec)
{
	const char *path = "/tmp/vt-parallel";
	int go[2], i, status, ok = 0;
	pid_t pids[16];
	char c;

	ASSERT_EQ(0, vm_fresh_copy("/usr/bin/true", path));
	ASSERT_EQ(0, pipe(go));
	for (i = 0; i < 16; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			close(go[1]);
			if (read(go[0], &c, 1) < 0)
				_exit(2);
			execl(path, path, (char *)NULL);
			_exit(3);
		}
	}
	close(go[0]);
	close(go[1]); /* all 16 wake up and exec together */
	for (i = 0; i < 16; i++)
		ok += waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) &&
		      !WEXITSTATUS(status);
	EXPECT_EQ(16, ok);
	EXPECT_EQ(1, vm_records(path, NULL, 0));
}

static int zero_digest_records(const char *name)
{
	struct vm_record r[MAX_RECS];
	int i, n = vm_records(name, r, MAX_RECS), zeros = 0;

	for (i = 0; i < n && i < MAX_RECS; i++)
		zeros += strspn(r[i].tdigest, "0") == strlen(r[i].tdigest);
	return zeros;
}

/* Acceptance 6: write-open while measured and open for read (ToMToU) ... */
TEST(violation_tomtou)
{
	const char *path = CONF_DIR "/tomtou.conf";
	long before = vm_read_number(VFS VIGIL_FS_VIOLATIONS);
	int rfd, wfd;

	ASSERT_EQ(0, vm_write_file(path, "a=1\n", 4, O_TRUNC));
	rfd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, rfd);
	ASSERT_EQ(1, vm_records(path, NULL, 0));
	wfd = open(path, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, wfd);
	close(wfd);
	close(rfd);
	EXPECT_EQ(before + 1, vm_read_number(VFS VIGIL_FS_VIOLATIONS));
	EXPECT_EQ(1, zero_digest_records(path));
}

/* ... and the reverse: read-open for measurement while a writer has it open (open_writers). */
TEST(violation_open_writers)
{
	const char *path = CONF_DIR "/writers.conf";
	long before = vm_read_number(VFS VIGIL_FS_VIOLATIONS);
	int wfd;

	wfd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ASSERT_LE(0, wfd);
	ASSERT_EQ(4, write(wfd, "b=2\n", 4));
	ASSERT_EQ(0, read_once(path));
	close(wfd);
	EXPECT_EQ(before + 1, vm_read_number(VFS VIGIL_FS_VIOLATIONS));
	EXPECT_EQ(1, zero_digest_records(path));
	EXPECT_EQ(2, vm_records(path, NULL, 0)); /* the violation, then the measurement */
}

static void expect_rejected(struct __test_metadata *_metadata, const char *rules, const char *why)
{
	char before[16384], after[16384], status[4096];

	ASSERT_LT(0, vm_read_all(VFS VIGIL_FS_POLICY, before, sizeof(before)));
	EXPECT_EQ(EINVAL, vm_write_policy(rules));
	ASSERT_LT(0, vm_read_all(VFS VIGIL_FS_POLICY, after, sizeof(after)));
	EXPECT_STREQ(before, after);
	ASSERT_LT(0, vm_read_all(VFS VIGIL_FS_STATUS, status, sizeof(status)));
	EXPECT_NE(NULL, strstr(status, why)) TH_LOG("status has no '%s':\n%s", why, status);
}

/* Acceptance 9: a bad rule set is rejected whole, with its line; the active rules stay. */
TEST(bad_rules)
{
	expect_rejected(_metadata, "measure func=BPRM_CHECK\nmeasure bogus=1\n",
			"policy_error: line 2: unknown keyword");
	expect_rejected(_metadata, "measure uid=abc\n", "policy_error: line 1: bad number for uid");
	expect_rejected(_metadata, "# comment\n\nmeasure func=FILE_CHECK path=etc/plc/\n",
			"policy_error: line 3: path is not absolute");
	expect_rejected(_metadata, "measure func=NOPE\n", "policy_error: line 1: unknown func");
	expect_rejected(_metadata, "measure fsmagic=0xzz\n", "line 1: bad number for fsmagic");
	expect_rejected(_metadata, "remeasure\n", "line 1: unknown action");
}

/* lock: the rules can no longer be replaced, and the module no longer unloaded. */
TEST(lock)
{
	char locked[sizeof(rules_with_conf) + 8];

	snprintf(locked, sizeof(locked), "%slock\n", rules_with_conf);
	ASSERT_EQ(0, vm_write_policy(locked));
	EXPECT_EQ(EPERM, vm_write_policy("measure func=BPRM_CHECK\n"));
	EXPECT_EQ(-1, syscall(SYS_delete_module, "vigil", O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);
}

TEST_HARNESS_MAIN
