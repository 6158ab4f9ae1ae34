// SPDX-License-Identifier: MIT
/*
 * Exec overhead benchmark, run in the VM by tests/vm/scenarios/bench (make bench). Prints one
 * line of "key=value" figures:
 *   warm_us  mean time of spawn + exec + wait of one already measured binary
 *   cold_us  mean time of creating a binary with unique content, then spawn + exec + wait
 *   records  records the measurer added during the cold loop (from its count file, if any)
 *   slab_kib growth of the kernel's unreclaimable slab (SUnreclaim) over the cold loop
 * Usage: bench_exec WARM_RUNS COLD_RUNS [COUNT_FILE]; BENCH_BINARY names the program to copy
 * and run (default /usr/bin/true).
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* posix_spawn (vfork-style): the parent's page tables are not copied, less noise per exec. */
static void run(const char *path)
{
	char *argv[] = { (char *)path, NULL }, *envp[] = { NULL };
	int status;
	pid_t pid;

	if (posix_spawn(&pid, path, NULL, NULL, argv, envp) || waitpid(pid, &status, 0) != pid ||
	    !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "bench_exec: %s failed\n", path);
		exit(1);
	}
}

static long meminfo_kib(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			v = strtol(line + strlen(key), NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static long count(const char *file)
{
	char buf[64] = "";
	FILE *f = file ? fopen(file, "r") : NULL;

	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strtol(buf, NULL, 10);
}

/* A copy of /usr/bin/true with a unique tail: new content, so a new measurement each time. */
static void make_unique(const char *path, int i)
{
	static char image[1 << 20];
	static ssize_t len;
	char tail[64];
	int fd, n;

	if (!len) {
		const char *src = getenv("BENCH_BINARY");

		fd = open(src ? src : "/usr/bin/true", O_RDONLY);
		len = fd < 0 ? -1 : read(fd, image, sizeof(image));
		if (len <= 0) {
			perror("bench_exec: BENCH_BINARY");
			exit(1);
		}
		close(fd);
	}
	n = snprintf(tail, sizeof(tail), "\nbench %d %d\n", getpid(), i);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (fd < 0 || write(fd, image, len) != len || write(fd, tail, n) != n) {
		perror("bench_exec: write");
		exit(1);
	}
	close(fd);
}

int main(int argc, char *argv[])
{
	int warm = argc > 2 ? atoi(argv[1]) : 0, cold = argc > 2 ? atoi(argv[2]) : 0, i;
	const char *count_file = argc > 3 ? argv[3] : NULL;
	long slab, records;
	char path[64];
	double t;

	if (warm <= 0 || cold <= 0) {
		fprintf(stderr, "usage: bench_exec WARM_RUNS COLD_RUNS [COUNT_FILE]\n");
		return 2;
	}
	make_unique("/tmp/bench-warm", -1);
	run("/tmp/bench-warm");
	t = now_us();
	for (i = 0; i < warm; i++)
		run("/tmp/bench-warm");
	printf("warm_us=%.1f ", (now_us() - t) / warm);

	records = count(count_file);
	slab = meminfo_kib("SUnreclaim:");
	t = now_us();
	for (i = 0; i < cold; i++) {
		snprintf(path, sizeof(path), "/tmp/bench-cold-%d", i);
		make_unique(path, i);
		run(path);
	}
	printf("cold_us=%.1f ", (now_us() - t) / cold);
	printf("records=%ld slab_kib=%ld\n", count(count_file) - records,
	       meminfo_kib("SUnreclaim:") - slab);
	return 0;
}
