// SPDX-License-Identifier: MIT
/*
 * test_refvalues.c: tests of reference values (lib/refvalues*.c) and `vigil policy create`.
 *
 * Root filesystem: a small tree built in a temporary directory from real files of this host
 * (an ELF PIE, a shared library, a kernel module and a compressed one, with depmod's indexes
 * copied), plus a script, a config file, plain files, a hand-made ET_REL object, symlinks of
 * every kind (relative, absolute, directory, dangling, loops, escaping), a hard link, a FIFO
 * and a name that is not UTF-8. Every (name, digest) the policy gets is compared with a list
 * computed here with OpenSSL, exactly. Debian packages: two .deb built with dpkg-deb in the
 * test (one shipping below ./bin, for merged /usr), plus a real one from the apt cache when
 * there is one. Logs: the real IMA captures of tests/fixtures/ima/ (a learned policy allows
 * every record of its log), and synthetic logs of mixed algorithms.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "cleanup.h"
#include "ima_fixtures.h"
#include "libvigil.h"
#include "refvalues.h"
#include "spawn.h"

#ifndef VIGIL_BIN
#error "VIGIL_BIN must name the built vigil binary"
#endif

#define REL "6.1.0-56-amd64" /* the fake tree's module release (indexes copied from it) */
#define OTHER "9.9.9-other"

static char top[] = "/tmp/vigil-refvalues-XXXXXX";
static char root[sizeof(top) + 16];
static char host_release[256]; /* a release of this host with depmod's indexes */

/* Digests of the source files, hex. */
static char d_true[65], d_lib[65], d_ko[65], d_koxz[65], d_script[65], d_conf[65];

/* ---- helpers ---- */

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

static void sha256_file(const char *path, char hex[65])
{
	size_t len = 0;
	uint8_t *buf = read_file(path, &len), d[32];
	unsigned int n = 0;

	assert_non_null(buf);
	assert_true(EVP_Digest(buf, len, d, &n, EVP_sha256(), NULL));
	assert_int_equal(vigil_hex_encode(d, 32, hex, 65), 0);
	free(buf);
}

static void put_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* A minimal ELF64 ET_REL header: what a relocatable object (a .o, an uncompressed .ko) is. */
static void put_rel(const char *path)
{
	uint8_t h[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
	FILE *f = fopen(path, "wb");

	h[16] = 1; /* e_type ET_REL */
	h[18] = 62; /* e_machine EM_X86_64 */
	h[20] = 1; /* e_version */
	h[52] = 64; /* e_ehsize */
	assert_non_null(f);
	assert_int_equal(fwrite(h, 1, sizeof(h), f), sizeof(h));
	assert_int_equal(fclose(f), 0);
}

static void first_line(const char *cmd, char *out, size_t size)
{
	FILE *p = popen(cmd, "r");

	assert_non_null(p);
	if (!fgets(out, (int)size, p))
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	pclose(p);
}

/* "path=hexdigest" lines of a policy, sorted (foreach_path's order), one string. */
static int collect(void *ctx, const char *path, size_t len, const uint8_t *digests, size_t count)
{
	char **out = ctx, hex[129];

	for (size_t i = 0; i < count; i++) {
		char *line;

		assert_int_equal(vigil_hex_encode(digests + 32 * i, 32, hex, sizeof(hex)), 0);
		assert_true(asprintf(&line, "%s%.*s=%s\n", *out, (int)len, path, hex) > 0);
		free(*out);
		*out = line;
	}
	return 0;
}

static char *entries(const struct vigil_policy *p)
{
	char *out = strdup("");

	assert_int_equal(vigil_policy_foreach_path(p, collect, &out), 0);
	return out;
}

static struct vigil_policy *new_policy(uint16_t alg)
{
	struct vigil_policy_info info = { .version = 1,
					  .valid_until = 4102444800,
					  .hash_alg = alg };
	struct vigil_policy *p = NULL;

	strcpy(info.name, "test");
	assert_int_equal(vigil_policy_new(&info, &p), 0);
	return p;
}

/* ---- the fake root filesystem ---- */

static void build_modules(void)
{
	char ko[PATH_MAX], koxz[PATH_MAX];

	first_line("ls -d /lib/modules/*/modules.dep.bin | head -n1 | xargs -r dirname | xargs -r "
		   "basename",
		   host_release, sizeof(host_release));
	first_line("find /lib/modules -name '*.ko' -size -200k | head -n1", ko, sizeof(ko));
	first_line("find /lib/modules -name '*.ko.xz' -size -200k | head -n1", koxz, sizeof(koxz));
	if (!host_release[0] || !ko[0] || !koxz[0])
		fail_msg("this test needs /lib/modules with a .ko, a .ko.xz and depmod's indexes");
	sh("mkdir -p %s/usr/lib/modules/" REL "/kernel %s/usr/lib/modules/" OTHER "/kernel", root,
	   root);
	sh("cp /lib/modules/%s/modules.*.bin %s/usr/lib/modules/" REL "/", host_release, root);
	sh("cp %s %s/usr/lib/modules/" REL "/kernel/m.ko", ko, root);
	sh("cp %s %s/usr/lib/modules/" REL "/kernel/c.ko.xz", koxz, root);
	sh("cp %s %s/usr/lib/modules/" OTHER "/kernel/o.ko.xz", koxz, root);
	sha256_file(ko, d_ko);
	sha256_file(koxz, d_koxz);
}

static void build_links(void)
{
	char p[PATH_MAX];
	int s;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	sh("cd %s && ln -s usr/bin bin && ln -s usr/lib lib", root);
	sh("cd %s/usr/bin && ln -s true rel-link && ln -s /usr/bin/true abs-link && "
	   "ln -s missing dangling && ln -s loop2 loop1 && ln -s loop1 loop2 && "
	   "ln -s ../../../../../etc/passwd escape && ln true hard && mkfifo fifo",
	   root);
	sh("cd %s/usr/lib && ln -s . self && ln -s .. up && "
	   "ln -s libt.so.1.2.3 x86_64-linux-gnu/libt.so.1",
	   root);
	sh("cd %s/etc/plc && ln -s app.conf link.conf", root);
	/* a socket: skipped by type like the FIFO, never opened */
	snprintf(p, sizeof(p), "%s/usr/bin/sock", root);
	assert_true(strlen(p) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, p, strlen(p) + 1);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
}

static int setup(void **state)
{
	char lib[PATH_MAX], path[PATH_MAX + 64];

	(void)state;
	setenv("LC_ALL", "C", 1);
	if (!mkdtemp(top))
		return -1;
	snprintf(root, sizeof(root), "%s/root", top);
	sh("mkdir -p %s/usr/bin %s/usr/lib/x86_64-linux-gnu %s/usr/share/doc %s/etc/plc", root,
	   root, root, root);
	first_line("readlink -f /usr/lib/x86_64-linux-gnu/libz.so.1", lib, sizeof(lib));
	sh("cp /usr/bin/true %s/usr/bin/true", root);
	sh("cp %s %s/usr/lib/x86_64-linux-gnu/libt.so.1.2.3", lib, root);
	snprintf(path, sizeof(path), "%s/usr/bin/run.sh", root);
	put_text(path, "#!/bin/sh\necho vigil\n");
	snprintf(path, sizeof(path), "%s/usr/bin/\xff.sh", root);
	put_text(path, "#!/bin/sh\n");
	snprintf(path, sizeof(path), "%s/etc/plc/app.conf", root);
	put_text(path, "speed=3\n");
	snprintf(path, sizeof(path), "%s/etc/plc/other.txt", root);
	put_text(path, "not selected\n");
	snprintf(path, sizeof(path), "%s/usr/share/doc/README", root);
	put_text(path, "plain text, not selected\n");
	snprintf(path, sizeof(path), "%s/usr/lib/x86_64-linux-gnu/plain.o", root);
	put_rel(path);
	build_modules();
	build_links();
	sha256_file("/usr/bin/true", d_true);
	sha256_file(lib, d_lib);
	snprintf(path, sizeof(path), "%s/usr/bin/run.sh", root);
	sha256_file(path, d_script);
	snprintf(path, sizeof(path), "%s/etc/plc/app.conf", root);
	sha256_file(path, d_conf);
	return 0;
}

static int teardown(void **state)
{
	char cmd[sizeof(top) + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- root filesystem ---- */

static char *expected_rootfs(bool other, bool aliases)
{
	struct {
		const char *name;
		const char *hex;
		bool alias; /* only through a symlink */
		bool other; /* only without --kernel-release */
	} e[] = {
		{ "/bin/abs-link", d_true, true, false },
		{ "/bin/hard", d_true, true, false },
		{ "/bin/rel-link", d_true, true, false },
		{ "/bin/run.sh", d_script, true, false },
		{ "/bin/true", d_true, true, false },
		{ "/etc/plc/app.conf", d_conf, false, false },
		{ "/etc/plc/link.conf", d_conf, true, false },
		{ "/lib/modules/" REL "/kernel/c.ko.xz", d_koxz, true, false },
		{ "/lib/modules/" REL "/kernel/m.ko", d_ko, true, false },
		{ "/lib/modules/" OTHER "/kernel/o.ko.xz", d_koxz, true, true },
		{ "/lib/x86_64-linux-gnu/libt.so.1", d_lib, true, false },
		{ "/lib/x86_64-linux-gnu/libt.so.1.2.3", d_lib, true, false },
		{ "/usr/bin/abs-link", d_true, true, false },
		{ "/usr/bin/hard", d_true, false, false },
		{ "/usr/bin/rel-link", d_true, true, false },
		{ "/usr/bin/run.sh", d_script, false, false },
		{ "/usr/bin/true", d_true, false, false },
		{ "/usr/lib/modules/" REL "/kernel/c.ko.xz", d_koxz, false, false },
		{ "/usr/lib/modules/" REL "/kernel/m.ko", d_ko, false, false },
		{ "/usr/lib/modules/" OTHER "/kernel/o.ko.xz", d_koxz, false, true },
		{ "/usr/lib/x86_64-linux-gnu/libt.so.1", d_lib, true, false },
		{ "/usr/lib/x86_64-linux-gnu/libt.so.1.2.3", d_lib, false, false },
	};
	char *out = strdup("");

	for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
		char *line;

		if ((e[i].other && !other) || (e[i].alias && !aliases))
			continue;
		assert_true(asprintf(&line, "%s%s=%s\n", out, e[i].name, e[i].hex) > 0);
		free(out);
		out = line;
	}
	return out;
}

static void run_rootfs(const struct vigil_refvalues_opts *o, struct vigil_refvalues_stats *st,
		       char **ret_entries)
{
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = new_policy(TPM2_ALG_SHA256);
	struct vigil_refvalues_error err = { 0 };
	int r = vigil_refvalues_rootfs(p, root, o, st, &err);

	if (r < 0)
		fail_msg("rootfs: %s", err.what);
	*ret_entries = entries(p);
}

static void test_rootfs(void **state)
{
	const char *include[] = { "/etc/plc/*.conf" };
	struct vigil_refvalues_opts o = { .include = include,
					  .n_include = 1,
					  .kernel_release = REL };
	struct vigil_refvalues_stats st;
	_cleanup_free_ char *got = NULL, *want = expected_rootfs(false, true);

	(void)state;
	run_rootfs(&o, &st, &got);
	assert_string_equal(got, want);
	/* true (= hard), run.sh, libt, m.ko, c.ko.xz, app.conf: each read once */
	assert_int_equal(st.hashed, 6);
	assert_int_equal(st.entries, 20);
	assert_int_equal(st.aliases, 13);
	assert_int_equal(st.special, 2); /* fifo, sock */
	assert_int_equal(st.dangling, 2); /* dangling, escape (/etc/passwd is not in the tree) */
	assert_int_equal(st.loops, 4); /* loop1, loop2, self, up */
	assert_int_equal(st.other_kernels, 2); /* o.ko.xz by its two names */
	assert_int_equal(st.bad_names, 2); /* \xff.sh by its two names */
	assert_int_equal(st.unreadable, 0);
	assert_true(st.files >= 12); /* and depmod's indexes */
}

static void test_rootfs_all_kernels(void **state)
{
	const char *include[] = { "/etc/plc/*.conf" };
	struct vigil_refvalues_opts o = { .include = include, .n_include = 1 };
	struct vigil_refvalues_stats st;
	_cleanup_free_ char *got = NULL, *want = expected_rootfs(true, true);

	(void)state;
	run_rootfs(&o, &st, &got);
	assert_string_equal(got, want);
	assert_int_equal(st.other_kernels, 0);
	assert_int_equal(st.hashed, 7); /* o.ko.xz: the same bytes as c.ko.xz, another inode */
}

static void test_rootfs_no_aliases(void **state)
{
	const char *include[] = { "/etc/plc/*.conf" };
	struct vigil_refvalues_opts o = {
		.include = include, .n_include = 1, .kernel_release = REL, .no_aliases = true
	};
	struct vigil_refvalues_stats st;
	_cleanup_free_ char *got = NULL, *want = expected_rootfs(false, false);

	(void)state;
	run_rootfs(&o, &st, &got);
	assert_string_equal(got, want);
	assert_int_equal(st.aliases, 0);
}

static void test_rootfs_exclude_any_path(void **state)
{
	const char *exclude[] = { "/bin/*", "*.sh", "/usr/lib/*" };
	struct vigil_refvalues_opts o = { .exclude = exclude, .n_exclude = 3, .any_path = true };
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = new_policy(TPM2_ALG_SHA256);
	struct vigil_refvalues_error err = { 0 };
	struct vigil_refvalues_stats st;
	uint8_t d[32];
	size_t n;

	(void)state;
	assert_int_equal(vigil_refvalues_rootfs(p, root, &o, &st, &err), 0);
	/* left: /usr/bin/{true,hard,rel-link,abs-link} and the /lib/... names */
	assert_int_equal(vigil_policy_info(p)->paths, 0);
	assert_int_equal(vigil_policy_info(p)->any_path, 4); /* true, libt, m.ko, c.ko.xz */
	assert_true(st.excluded > 0);
	assert_int_equal(vigil_hex_decode(d_true, 64, d, sizeof(d), &n), 0);
	{
		enum vigil_policy_result res;

		assert_int_equal(vigil_policy_check(p, "/anywhere", 9, d, &res), 0);
		assert_int_equal(res, VIGIL_POLICY_ALLOWED);
	}
}

static void test_rootfs_errors(void **state)
{
	struct vigil_refvalues_opts o = { .kernel_release = "1.2.3-none" };
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = new_policy(TPM2_ALG_SHA256);
	struct vigil_refvalues_error err = { 0 };
	struct vigil_refvalues_stats st;
	char other[PATH_MAX];

	(void)state;
	assert_int_equal(vigil_refvalues_rootfs(p, root, &o, &st, &err), -ENOENT);
	assert_non_null(strstr(err.what, "no module tree of kernel release 1.2.3-none"));
	/* a tree without depmod's indexes */
	o.kernel_release = OTHER;
	assert_int_equal(vigil_refvalues_rootfs(p, root, &o, &st, &err), -ENOENT);
	assert_non_null(strstr(err.what, "run depmod"));
	o.kernel_release = "../x";
	assert_int_equal(vigil_refvalues_rootfs(p, root, &o, &st, &err), -EINVAL);
	o.kernel_release = NULL;
	snprintf(other, sizeof(other), "%s/nonexistent", top);
	assert_int_equal(vigil_refvalues_rootfs(p, other, &o, &st, &err), -ENOENT);
	assert_non_null(strstr(err.what, "No such file or directory"));
}

/* A symlink that leads out of the tree through ".." or an absolute path stays inside it. */
static void test_rootfs_chroot(void **state)
{
	struct vigil_refvalues_opts o = { 0 };
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = new_policy(TPM2_ALG_SHA256);
	struct vigil_refvalues_error err = { 0 };
	struct vigil_refvalues_stats st;
	char dir[sizeof(top) + 16];
	_cleanup_free_ char *got = NULL, *want = NULL;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/chroot", top);
	sh("mkdir -p %s/a/b && cp /usr/bin/true %s/a/b/t && cd %s/a && "
	   "ln -s ../../../../../a/b up && ln -s /a/b abs && ln -s /usr/bin/true host",
	   dir, dir, dir);
	assert_int_equal(vigil_refvalues_rootfs(p, dir, &o, &st, &err), 0);
	got = entries(p);
	assert_true(asprintf(&want, "/a/abs/t=%s\n/a/b/t=%s\n/a/up/t=%s\n", d_true, d_true,
			     d_true) > 0);
	assert_string_equal(got, want);
	assert_int_equal(st.dangling, 1); /* host: /usr/bin/true is not in this tree */
}

/* ---- Debian packages ---- */

static void build_deb(const char *dir, const char *name, const char *version, const char *files,
		      const char *args)
{
	sh("mkdir -p %s/pkg-%s/DEBIAN && cd %s/pkg-%s && %s && printf 'Package: %s\\nVersion: "
	   "%s\\nArchitecture: all\\nMaintainer: t <t@example.org>\\nDescription: test\\n' > "
	   "DEBIAN/control && cd .. && dpkg-deb --root-owner-group %s --build pkg-%s %s.deb "
	   ">/dev/null",
	   dir, name, dir, name, files, name, version, args, name, name);
}

static void test_debs(void **state)
{
	char dir[sizeof(top) + 16], a[PATH_MAX], b[PATH_MAX], lib[PATH_MAX];
	const char *debs[] = { a, b };
	struct vigil_refvalues_opts o = { 0 };
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = new_policy(TPM2_ALG_SHA256);
	struct vigil_refvalues_error err = { 0 };
	struct vigil_refvalues_stats st;
	_cleanup_free_ char *got = NULL, *want = NULL;
	uint8_t d[32];
	size_t n;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/debs", top);
	first_line("readlink -f /usr/lib/x86_64-linux-gnu/libz.so.1", lib, sizeof(lib));
	/* vigil-a ships ./bin/tool (not yet moved to /usr, like most of Debian 12) */
	build_deb(
		dir, "vigil-a", "1.2-3",
		"mkdir -p bin usr/bin usr/share/doc/vigil-a && cp /usr/bin/true bin/tool && "
		"printf '#!/bin/sh\\n' > usr/bin/run.sh && ln usr/bin/run.sh usr/bin/run2.sh && "
		"ln -s ../../bin/tool usr/bin/tool-link && echo doc > usr/share/doc/vigil-a/README",
		"-Zxz");
	build_deb(dir, "vigil-b", "0.1",
		  "mkdir -p usr/lib/x86_64-linux-gnu usr/sbin && "
		  "cp /usr/lib/x86_64-linux-gnu/libz.so.1 usr/lib/x86_64-linux-gnu/libb.so.1.0 && "
		  "ln -s libb.so.1.0 usr/lib/x86_64-linux-gnu/libb.so.1 && "
		  "ln -s /bin/tool usr/sbin/other && ln -s /nowhere usr/sbin/dangling",
		  "-Zgzip");
	snprintf(a, sizeof(a), "%s/vigil-a.deb", dir);
	snprintf(b, sizeof(b), "%s/vigil-b.deb", dir);
	if (vigil_refvalues_debs(p, debs, 2, &o, &st, &err) < 0)
		fail_msg("debs: %s", err.what);
	got = entries(p);
	{
		/* the script's digest: "#!/bin/sh\n" */
		uint8_t sd[32];
		char ds[65];
		unsigned int len = 0;

		assert_true(EVP_Digest("#!/bin/sh\n", 10, sd, &len, EVP_sha256(), NULL));
		assert_int_equal(vigil_hex_encode(sd, 32, ds, sizeof(ds)), 0);
		assert_true(
			asprintf(&want,
				 "/bin/run.sh=%s\n/bin/run2.sh=%s\n/bin/tool=%s\n"
				 "/bin/tool-link=%s\n/lib/x86_64-linux-gnu/libb.so.1=%s\n"
				 "/lib/x86_64-linux-gnu/libb.so.1.0=%s\n/sbin/other=%s\n"
				 "/usr/bin/run.sh=%s\n/usr/bin/run2.sh=%s\n/usr/bin/tool=%s\n"
				 "/usr/bin/tool-link=%s\n/usr/lib/x86_64-linux-gnu/libb.so.1=%s\n"
				 "/usr/lib/x86_64-linux-gnu/libb.so.1.0=%s\n/usr/sbin/other=%s\n",
				 ds, ds, d_true, d_true, d_lib, d_lib, d_true, ds, ds, d_true,
				 d_true, d_lib, d_lib, d_true) > 0);
	}
	assert_string_equal(got, want);
	assert_int_equal(st.packages, 2);
	assert_int_equal(st.dangling, 1);
	assert_int_equal(vigil_hex_decode(d_true, 64, d, sizeof(d), &n), 0);
	assert_string_equal(vigil_policy_package(p, d), "vigil-a 1.2-3");
	assert_int_equal(vigil_hex_decode(d_lib, 64, d, sizeof(d), &n), 0);
	assert_string_equal(vigil_policy_package(p, d), "vigil-b 0.1");
}

static void test_deb_real(void **state)
{
	char deb[PATH_MAX];
	const char *debs[] = { deb };
	struct vigil_refvalues_opts o = { 0 };
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = new_policy(TPM2_ALG_SHA256);
	struct vigil_refvalues_error err = { 0 };
	struct vigil_refvalues_stats st;
	const uint8_t *exp = NULL;
	uint8_t d[32];
	size_t n;
	char hex[65], path[PATH_MAX];

	(void)state;
	first_line("ls /var/cache/apt/archives/attr_*.deb 2>/dev/null | head -n1", deb,
		   sizeof(deb));
	if (!deb[0])
		skip();
	if (vigil_refvalues_debs(p, debs, 1, &o, &st, &err) < 0)
		fail_msg("%s: %s", deb, err.what);
	/* attr ships ./usr/bin/getfattr: its digest is the one dpkg-deb extracts */
	snprintf(path, sizeof(path), "%s/attr", top);
	sh("dpkg-deb -x %s %s", deb, path);
	snprintf(path, sizeof(path), "%s/attr/usr/bin/getfattr", top);
	sha256_file(path, hex);
	assert_int_equal(vigil_hex_decode(hex, 64, d, sizeof(d), &n), 0);
	assert_int_equal(vigil_policy_expected(p, "/usr/bin/getfattr", 17, &exp), 1);
	assert_memory_equal(exp, d, 32);
	assert_int_equal(vigil_policy_expected(p, "/bin/getfattr", 13, &exp), 1);
	assert_non_null(strstr(vigil_policy_package(p, d), "attr 1:2.5.1"));
}

static void test_deb_bad(void **state)
{
	char deb[sizeof(top) + 32];
	const char *debs[] = { deb };
	struct vigil_refvalues_opts o = { 0 };
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = new_policy(TPM2_ALG_SHA256);
	struct vigil_refvalues_error err = { 0 };
	struct vigil_refvalues_stats st;

	(void)state;
	snprintf(deb, sizeof(deb), "%s/bad.deb", top);
	put_text(deb, "not an ar archive\n");
	assert_int_equal(vigil_refvalues_debs(p, debs, 1, &o, &st, &err), -EBADMSG);
	assert_non_null(strstr(err.what, deb));
	/* an ar archive without the Debian members */
	sh("cd %s && rm -f bad.deb && echo x > member && ar q bad.deb member 2>/dev/null", top);
	assert_int_equal(vigil_refvalues_debs(p, debs, 1, &o, &st, &err), -EBADMSG);
	assert_non_null(strstr(err.what, "not a Debian package"));
	snprintf(deb, sizeof(deb), "%s/missing.deb", top);
	assert_true(vigil_refvalues_debs(p, debs, 1, &o, &st, &err) < 0);
	assert_non_null(strstr(err.what, "missing.deb"));
}

/* ---- logs ---- */

struct check_ctx {
	const struct vigil_log *log;
	const struct vigil_policy *p;
};

/* Every record of a log that carries a file digest is allowed by the policy learned from it. */
static void assert_log_allowed(const struct vigil_log *log, const struct vigil_policy *p)
{
	for (size_t i = 0; i < log->count; i++) {
		const struct vigil_log_record *rec = &log->records[i];
		struct vigil_log_fields f;
		enum vigil_policy_result res;

		if ((rec->flags & VIGIL_LOG_VIOLATION) ||
		    vigil_log_record_fields(log, rec, &f) < 0 || !f.digest || !f.name)
			continue;
		assert_int_equal(vigil_policy_check(p, f.name, f.name_len, f.digest, &res), 0);
		if (res != VIGIL_POLICY_ALLOWED)
			fail_msg("record %zu (%.*s) is %s", i, (int)f.name_len, f.name,
				 vigil_policy_result_name(res));
	}
}

static void test_log_captures(void **state)
{
	(void)state;
	for (size_t c = 0; c < CAPTURES; c++) {
		const char *files[] = { "binary_runtime_measurements",
					"ascii_runtime_measurements" };
		_cleanup_free_ char *binary = NULL, *ascii = NULL;
		char **text[2] = { &binary, &ascii };

		for (size_t k = 0; k < 2; k++) {
			_cleanup_(vigil_policy_freep) struct vigil_policy *p = NULL;
			_cleanup_(vigil_log_freep) struct vigil_log *log = NULL;
			_cleanup_free_ uint8_t *buf = NULL;
			struct vigil_refvalues_opts o = { 0 };
			struct vigil_refvalues_error err = { 0 };
			struct vigil_refvalues_stats st;
			struct vigil_log_error le;
			const uint8_t *exp = NULL;
			uint16_t alg = 0;
			size_t len;

			assert_int_equal(capture_parse(&captures[c], files[k], 0, &buf, &log, &le),
					 0);
			assert_int_equal(vigil_refvalues_log_alg(log, &alg, &err), 0);
			assert_int_equal(alg, strstr(captures[c].dir, "/ima") &&
							      !strstr(captures[c].dir, "ima-ng") ?
						      TPM2_ALG_SHA1 :
						      TPM2_ALG_SHA256);
			p = new_policy(alg);
			assert_int_equal(vigil_refvalues_log(p, log, &o, &st, &err), 0);
			assert_int_equal(st.records + st.violations + st.no_digest + st.bad_names,
					 log->count);
			assert_int_equal(st.violations, 2);
			assert_int_equal(vigil_policy_expected(p, "boot_aggregate", 14, &exp), 1);
			assert_log_allowed(log, p);
			assert_int_equal(vigil_policy_format(p, text[k], &len), 0);
		}
		/* the ASCII twin teaches exactly the same policy */
		assert_string_equal(binary, ascii);
	}
}

static void test_log_mixed(void **state)
{
	static struct bytes b, data;
	_cleanup_(vigil_log_freep) struct vigil_log *log = NULL;
	struct vigil_refvalues_error err = { 0 };
	struct vigil_log_error le;
	uint16_t alg = 0;

	(void)state;
	b.len = 0;
	put_ima_ng(&b, 10, 0x11, "/usr/bin/a");
	data.len = 0; /* a violation: zero template digest, zero file digest */
	put_dng(&data, "sha256", 0, 32);
	put_field(&data, "/usr/bin/v", 11);
	put_record(&b, 10, 0, "ima-ng", &data);
	data.len = 0;
	put_dng(&data, "sha1", 0x22, 20);
	put_field(&data, "/usr/bin/b", 11);
	put_record(&b, 10, 0x22, "ima-ng", &data);
	assert_int_equal(vigil_log_parse(b.data, b.len, NULL, &log, &le), 0);
	assert_int_equal(vigil_refvalues_log_alg(log, &alg, &err), -EMLINK);
	assert_int_equal(err.record, 2);
	assert_non_null(strstr(err.what, "record 2 (/usr/bin/b): sha1 digest, but record 0 has "
					 "sha256"));
}

/* ---- measurement rules ---- */

/* The rules files of policies/measure/ are written canonically: their text minus comments. */
static void test_rules_files(void **state)
{
	static const char *const files[] = { "default.rules", "plc-runtime.rules" };

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[PATH_MAX], want[8192] = "";
		struct vigil_refvalues_error err = { 0 };
		_cleanup_free_ char *canon = NULL;
		_cleanup_free_ uint8_t *text = NULL;
		size_t len = 0, clen = 0;

		snprintf(path, sizeof(path), VIGIL_FIXTURES "/../../policies/measure/%s", files[i]);
		text = read_file(path, &len);
		assert_non_null(text);
		for (char *l = (char *)text, *nl; *l; l = nl + 1) {
			nl = strchr(l, '\n');
			assert_non_null(nl);
			if (*l != '#')
				strncat(want, l, (size_t)(nl - l + 1));
		}
		assert_int_equal(vigil_refvalues_rules_text((const char *)text, len, &canon, &clen,
							    &err),
				 0);
		assert_string_equal(canon, want);
		assert_int_equal(clen, strlen(want));
	}
}

static void test_rules_canonical(void **state)
{
	static const char in[] =
		"lock\n"
		"  measure   mask=MAY_EXEC\tfunc=BPRM_CHECK   # executables\n"
		"\n# a comment\n"
		"dont_measure fsmagic=9FA0\r\n"
		"measure fsuuid=0B3A2C5D-1E2F-4A5B-8C9D-0E1F2A3B4C5D template=ima-ng\n"
		"measure uid=0 path=/etc/plc/ func=FILE_CHECK template=vigil-ng";
	static const char want[] =
		"measure func=BPRM_CHECK mask=MAY_EXEC\n"
		"dont_measure fsmagic=0x9fa0\n"
		"measure fsuuid=0b3a2c5d-1e2f-4a5b-8c9d-0e1f2a3b4c5d\n"
		"measure func=FILE_CHECK path=/etc/plc/ uid=0 template=vigil-ng\n"
		"lock\n";
	static const struct {
		const char *text;
		const char *why;
	} bad[] = {
		{ "measure func=EXEC\n", "line 1: unknown func" },
		{ "\nmeasure mask=MAY_X\n", "line 2: unknown mask" },
		{ "measure func=BPRM_CHECK func=MMAP_CHECK\n", "line 1: condition given twice" },
		{ "measure path=/a path=/b\n", "line 1: condition given twice" },
		{ "measure path=etc\n", "line 1: path is not absolute" },
		{ "measure fsmagic=xyz\n", "line 1: bad number for fsmagic" },
		{ "measure fsuuid=1234\n", "line 1: bad uuid for fsuuid" },
		{ "measure uid=-1\n", "line 1: bad number for uid" },
		{ "measure template=ima\n", "line 1: unknown template" },
		{ "measure func\n", "line 1: expected key=value" },
		{ "measure size=1\n", "line 1: unknown keyword" },
		{ "appraise\n", "line 1: unknown action" },
	};
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = new_policy(TPM2_ALG_SHA256);
	struct vigil_refvalues_error err = { 0 };
	_cleanup_free_ char *canon = NULL;
	const uint8_t *got = NULL;
	uint8_t d[32];
	unsigned int n = 0;
	size_t len = 0;

	(void)state;
	assert_int_equal(vigil_refvalues_rules_text(in, strlen(in), &canon, &len, &err), 0);
	assert_string_equal(canon, want);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *c = NULL;

		assert_int_equal(vigil_refvalues_rules_text(bad[i].text, strlen(bad[i].text), &c,
							    &len, &err),
				 -EINVAL);
		if (!strstr(err.what, bad[i].why))
			fail_msg("%s: \"%s\", want \"%s\"", bad[i].text, err.what, bad[i].why);
	}
	/* the record vigil.ko makes: "vigil_policy", the digest of the canonical text */
	assert_int_equal(vigil_refvalues_rules(p, in, strlen(in), &err), 0);
	assert_true(EVP_Digest(want, strlen(want), d, &n, EVP_sha256(), NULL));
	assert_int_equal(vigil_policy_expected(p, "vigil_policy", 12, &got), 1);
	assert_memory_equal(got, d, 32);
}

/* ---- the command ---- */

struct run {
	int code;
	char out[8192];
	char err[8192];
};

static void run_vigil(struct run *r, const char *const args[])
{
	char *argv[32] = { VIGIL_BIN, "policy", "create" };
	int out = -1, err = -1;

	for (size_t i = 0; args[i]; i++) {
		assert_true(i + 4 < sizeof(argv) / sizeof(argv[0]));
		argv[i + 3] = (char *)args[i];
	}
	assert_int_equal(spawn_capture(argv, NULL, &r->code, &out, &err), 0);
	spawn_read(out, r->out, sizeof(r->out));
	spawn_read(err, r->err, sizeof(r->err));
	close(out);
	close(err);
}

#define RUN(r, ...) run_vigil(r, (const char *const[]){ __VA_ARGS__, NULL })

static void test_cmd(void **state)
{
	char out[sizeof(top) + 32], merged[sizeof(top) + 32], log[PATH_MAX];
	struct run r;

	(void)state;
	snprintf(out, sizeof(out), "%s/p.json", top);
	RUN(&r, "--rootfs", root, "--kernel-release", REL, "--include", "/etc/plc/*.conf", "--name",
	    "plc", "--version", "7", "--valid-until", "2030-01-01T00:00:00Z", "-o", out);
	assert_int_equal(r.code, 0);
	assert_non_null(strstr(r.err, "6 files hashed"));
	assert_non_null(strstr(r.err, "20 entries (13 through symlinks)"));
	RUN(&r, "--rootfs", root, "--name", "plc", "--no-aliases", "--rules",
	    VIGIL_FIXTURES "/../../policies/measure/default.rules", "--rules",
	    VIGIL_FIXTURES "/../../policies/measure/plc-runtime.rules", "-o", out);
	assert_int_equal(r.code, 0);
	{
		_cleanup_(vigil_policy_freep) struct vigil_policy *p = NULL;
		struct vigil_policy_error perr;
		size_t len = 0;
		_cleanup_free_ uint8_t *text = read_file(out, &len);

		assert_int_equal(vigil_policy_parse((const char *)text, len, &p, &perr), 0);
		assert_int_equal(vigil_policy_expected(p, "vigil_policy", 12,
						       &(const uint8_t *){ NULL }),
				 2);
	}
	RUN(&r, "--rootfs", root, "--name", "plc", "--rules", out, "-o", out);
	assert_int_equal(r.code, 3);
	assert_non_null(strstr(r.err, ": line 1: unknown action"));
	RUN(&r, "--help");
	assert_int_equal(r.code, 0);
	assert_non_null(strstr(r.out, "Usage: vigil policy create"));
	RUN(&r, "--rootfs", root, "--name", "x");
	assert_int_equal(r.code, 2);
	assert_non_null(strstr(r.err, "missing option '--output'"));
	RUN(&r, "--rootfs", root, "--log", "x", "--name", "x", "-o", out);
	assert_int_equal(r.code, 2);
	RUN(&r, "--rootfs", root, "--name", "bad name", "-o", out);
	assert_int_equal(r.code, 2);
	RUN(&r, "--rootfs", root, "--name", "x", "--valid-until", "2020-02-30T00:00:00Z", "-o",
	    out);
	assert_int_equal(r.code, 2);
	RUN(&r, "--rootfs", root, "--name", "x", "--kernel-release", "0.0", "-o", out);
	assert_int_equal(r.code, 3);
	assert_non_null(strstr(r.err, "vigil policy create: "));
	snprintf(log, sizeof(log), IMA_DIR "%s/ascii_runtime_measurements", captures[0].dir);
	RUN(&r, "--log", log, "--name", "learned", "--hash-alg", "sha512", "-o", out);
	assert_int_equal(r.code, 3);
	assert_non_null(strstr(r.err, "not --hash-alg sha512"));
	snprintf(merged, sizeof(merged), "%s/merged.json", top);
	RUN(&r, "--log", log, "--name", "learned", "-o", merged, "--merge", out);
	assert_int_equal(r.code, 0);
	{
		_cleanup_(vigil_policy_freep) struct vigil_policy *p = NULL;
		struct vigil_policy_error perr;
		size_t len = 0;
		_cleanup_free_ uint8_t *text = read_file(merged, &len);

		assert_non_null(text);
		assert_int_equal(vigil_policy_parse((const char *)text, len, &p, &perr), 0);
		assert_int_equal(vigil_policy_info(p)->version, 1);
		assert_true(vigil_policy_info(p)->paths > 20); /* the rootfs's and the log's */
	}
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rootfs),
		cmocka_unit_test(test_rootfs_all_kernels),
		cmocka_unit_test(test_rootfs_no_aliases),
		cmocka_unit_test(test_rootfs_exclude_any_path),
		cmocka_unit_test(test_rootfs_errors),
		cmocka_unit_test(test_rootfs_chroot),
		cmocka_unit_test(test_debs),
		cmocka_unit_test(test_deb_real),
		cmocka_unit_test(test_deb_bad),
		cmocka_unit_test(test_log_captures),
		cmocka_unit_test(test_log_mixed),
		cmocka_unit_test(test_rules_files),
		cmocka_unit_test(test_rules_canonical),
		cmocka_unit_test(test_cmd),
	};

	return cmocka_run_group_tests_name("refvalues", tests, setup, teardown);
}
