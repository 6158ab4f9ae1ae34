/* SPDX-License-Identifier: MIT */
/*
 * spawn.h: what the tests that run the vigil binary share (test_cli.c, test_cmd_log.c,
 * test_tpm.c): run a program with stdin from /dev/null and stdout and stderr captured in memory
 * files, and read such a file back.
 *
 * Invariants: the caller owns and closes the returned memory files; nothing here asserts, so
 * each test reports failures its own way.
 */
#ifndef VIGIL_TEST_SPAWN_H
#define VIGIL_TEST_SPAWN_H

#include <fcntl.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * Run argv (argv[0] a path) in @dir (NULL: here). Return 0 with *ret_code its exit status (-1 if
 * it did not exit) and *ret_out, *ret_err the memory files holding its output; -1 if it could
 * not be started.
 */
static inline int spawn_capture(char *const argv[], const char *dir, int *ret_code, int *ret_out,
				int *ret_err)
{
	int out = memfd_create("stdout", MFD_CLOEXEC), err = memfd_create("stderr", MFD_CLOEXEC);
	int status = 0;
	pid_t pid;

	if (out < 0 || err < 0)
		goto fail;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 ||
		    (dir && chdir(dir) < 0))
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0)
		goto fail;
	*ret_code = waitpid(pid, &status, 0) == pid && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	*ret_out = out;
	*ret_err = err;
	return 0;
fail:
	if (out >= 0)
		close(out);
	if (err >= 0)
		close(err);
	return -1;
}

/* Read a memory file from its start into @buf, NUL-terminated, at most @size - 1 bytes. */
static inline void spawn_read(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len < size - 1 && (n = pread(fd, buf + len, size - 1 - len, (off_t)len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
}

#endif /* VIGIL_TEST_SPAWN_H */
