/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the VM test programs: files, processes and vigil's ascii log. Header-only so each
 * test program stays one translation unit compiled against kselftest_harness.h.
 */
#ifndef VIGIL_VM_UTIL_H
#define VIGIL_VM_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uapi/vigil.h"

#define VFS VIGIL_FS_MOUNT "/" VIGIL_FS_DIR "/"

/* One line of ascii_runtime_measurements. */
struct vm_record {
	char tdigest[129];
	char tpl[32];
	char digest[140]; /* "<alg>:<hex>" */
	char name[4096];
};

static inline int vm_write_file(const char *path, const void *data, size_t len, int flags)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0755);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, data, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

/* Copy src to dst and append a unique tail, so dst has content no other file has. */
static inline int vm_fresh_copy(const char *src, const char *dst)
{
	static unsigned int counter;
	char cmd[8192], tail[128];
	int len;

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, dst);
	if (system(cmd))
		return -EIO;
	len = snprintf(tail, sizeof(tail), "\nvigil-test %d %u %ld\n", getpid(), counter++,
		       (long)random());
	return vm_write_file(dst, tail, len, O_APPEND);
}

/* Run argv, wait, return its exit status (or -1). */
static inline int vm_run(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* First line of a command's output, without the newline. */
static inline int vm_output(const char *cmd, char *out, size_t size)
{
	FILE *p = popen(cmd, "r");
	int ok;

	if (!p)
		return -1;
	ok = fgets(out, size, p) != NULL;
	if (pclose(p) != 0 || !ok)
		return -1;
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

static inline int vm_sha256(const char *path, char *hex65)
{
	char cmd[4200], out[256];

	snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
	if (vm_output(cmd, out, sizeof(out)) || strlen(out) < 64)
		return -1;
	memcpy(hex65, out, 64);
	hex65[64] = '\0';
	return 0;
}

/*
 * The records of vigil's ascii log whose name is name (all records when name is NULL), in log
 * order; returns how many, at most max stored in recs (recs may be NULL).
 */
static inline int vm_records(const char *name, struct vm_record *recs, int max)
{
	FILE *f = fopen(VFS VIGIL_FS_ASCII, "r");
	static char line[16384];
	struct vm_record r;
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*d %128s %31s %139s %4095s", r.tdigest, r.tpl, r.digest,
			   r.name) != 4)
			continue;
		if (name && strcmp(r.name, name))
			continue;
		if (recs && n < max)
			recs[n] = r;
		n++;
	}
	fclose(f);
	return n;
}

static inline long vm_read_number(const char *path)
{
	char buf[64] = "";
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return buf[0] ? strtol(buf, NULL, 10) : -1;
}

/* Write a rule set to the policy file in one write; 0 or the errno of the open/write. */
static inline int vm_write_policy(const char *text)
{
	int fd = open(VFS VIGIL_FS_POLICY, O_WRONLY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return errno;
	if (write(fd, text, strlen(text)) < 0)
		err = errno;
	close(fd);
	return err;
}

static inline int vm_read_all(const char *path, char *buf, size_t size)
{
	ssize_t n, len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((size_t)len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += n;
	close(fd);
	buf[len] = '\0';
	return len;
}

#endif /* VIGIL_VM_UTIL_H */
