/* SPDX-License-Identifier: MIT */
/*
 * ima_fixtures.h: what the log tests (test_log.c, test_replay.c, test_cmd_log.c) share: the
 * table of real IMA captures in tests/fixtures/ima/ (README there says how they were made),
 * reading their files, and building synthetic records.
 *
 * Invariants: every capture listed here has binary_runtime_measurements, its ASCII twin,
 * runtime_measurements_count and pcrs-<bank> for sha1, sha256 and sha384; per_bank captures
 * also have the _<bank> twins of both lists.
 */
#ifndef VIGIL_TEST_IMA_FIXTURES_H
#define VIGIL_TEST_IMA_FIXTURES_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_tpm2_types.h>

#include "log.h"

#ifndef VIGIL_FIXTURES
#error "VIGIL_FIXTURES must name tests/fixtures"
#endif

#define IMA_DIR VIGIL_FIXTURES "/ima/"

/**
 * struct capture - one capture of in-kernel IMA's log with the PCR values it replays to
 * @dir: below tests/fixtures/ima/
 * @per_bank: the kernel has the per-bank lists (6.10+)
 * @padded_sha384: the kernel extended the SHA-384 bank with zero-padded SHA-1 (6.1: sha512
 *	is a module, not loaded when IMA starts)
 * @boot_alg: the bank of the boot_aggregate record
 */
struct capture {
	const char *dir;
	bool per_bank;
	bool padded_sha384;
	uint16_t boot_alg;
};

static const struct capture captures[] = {
	{ "6.1.0-56-amd64/tcb", false, true, TPM2_ALG_SHA256 },
	{ "6.1.0-56-amd64/policy", false, true, TPM2_ALG_SHA256 },
	{ "6.1.0-56-amd64/ima-ng", false, true, TPM2_ALG_SHA256 },
	{ "6.12.117+deb12-amd64/tcb", true, false, TPM2_ALG_SHA256 },
	{ "6.12.117+deb12-amd64/policy", true, false, TPM2_ALG_SHA256 },
	{ "6.12.117+deb12-amd64/ima", true, false, TPM2_ALG_SHA1 },
	{ "6.12.117+deb12-amd64/fmt", true, false, TPM2_ALG_SHA256 },
};

#define CAPTURES (sizeof(captures) / sizeof(captures[0]))

static const struct {
	const char *name;
	uint16_t alg;
	size_t size;
} capture_banks[] = {
	{ "sha1", TPM2_ALG_SHA1, 20 },
	{ "sha256", TPM2_ALG_SHA256, 32 },
	{ "sha384", TPM2_ALG_SHA384, 48 },
};

#define CAPTURE_BANKS (sizeof(capture_banks) / sizeof(capture_banks[0]))

/* Read a whole file (NUL-terminated, not counted); NULL if it cannot be read. */
static inline uint8_t *read_file(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long size;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)size + 1);
		if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	if (buf) {
		buf[size] = 0;
		*ret_len = (size_t)size;
	}
	return buf;
}

/* tests/fixtures/ima/<dir>/<name> */
static inline uint8_t *read_capture(const struct capture *c, const char *name, size_t *ret_len)
{
	char path[4096];

	snprintf(path, sizeof(path), IMA_DIR "%s/%s", c->dir, name);
	return read_file(path, ret_len);
}

/*
 * Parse the file @file of @c (ASCII when its name starts with "ascii", else binary) with the
 * digest size of @alg (0: from the file name). On success *ret_buf holds the file (the log points
 * into it) and *ret_log the log; on failure a negative errno, and @e says where.
 */
static inline int capture_parse(const struct capture *c, const char *file, uint16_t alg,
				uint8_t **ret_buf, struct vigil_log **ret_log,
				struct vigil_log_error *e)
{
	struct vigil_log_options opts = { .tpm_alg = alg };
	size_t len;
	uint8_t *buf = read_capture(c, file, &len);
	int r;

	if (!buf)
		return -ENOENT;
	if (!strncmp(file, "ascii", 5))
		r = vigil_log_parse_ascii((const char *)buf, len, &opts, ret_log, e);
	else
		r = vigil_log_parse(buf, len, &opts, ret_log, e);
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret_buf = buf;
	return 0;
}

static inline int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * PCR @pcr of a pcrs-<bank> file (evmctl's format: "PCR-NN: <hex>" lines, all 24 PCRs) into
 * @out (@size bytes). Returns 0, or -1 if the file or the line is not there.
 */
static inline int capture_pcr(const struct capture *c, const char *bank, unsigned int pcr,
			      uint8_t *out, size_t size)
{
	char name[64], want[16];
	size_t len;
	uint8_t *text;
	const char *line;

	snprintf(name, sizeof(name), "pcrs-%s", bank);
	snprintf(want, sizeof(want), "PCR-%02u: ", pcr);
	text = read_capture(c, name, &len);
	if (!text)
		return -1;
	line = strstr((const char *)text, want);
	for (size_t i = 0; line && i < size; i++) {
		int hi = hex_nibble(line[8 + 2 * i]), lo = hex_nibble(line[9 + 2 * i]);

		if (hi < 0 || lo < 0)
			line = NULL;
		else
			out[i] = (uint8_t)(hi << 4 | lo);
	}
	free(text);
	return line ? 0 : -1;
}

/* A growing byte buffer for building synthetic logs. */
struct bytes {
	uint8_t data[1 << 16];
	size_t len;
};

static inline void put(struct bytes *b, const void *p, size_t n)
{
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static inline void put32(struct bytes *b, uint32_t v, bool be)
{
	uint8_t p[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	if (be) {
		uint8_t q[4] = { p[3], p[2], p[1], p[0] };

		put(b, q, 4);
	} else {
		put(b, p, 4);
	}
}

/* One length-prefixed field. */
static inline void put_field(struct bytes *b, const void *p, size_t n)
{
	put32(b, (uint32_t)n, false);
	put(b, p, n);
}

/* d-ng: "<alg>:\0" + @n bytes of @fill. */
static inline void put_dng(struct bytes *b, const char *alg, uint8_t fill, size_t n)
{
	uint8_t f[128];
	size_t a = strlen(alg);

	memcpy(f, alg, a);
	f[a] = ':';
	f[a + 1] = 0;
	memset(f + a + 2, fill, n);
	put_field(b, f, a + 2 + n);
}

/* A little-endian record with a 20-byte template digest of @fill (0: a violation). */
static inline void put_record(struct bytes *b, uint32_t pcr, uint8_t fill, const char *tpl,
			      const struct bytes *data)
{
	uint8_t digest[20];

	memset(digest, fill, sizeof(digest));
	put32(b, pcr, false);
	put(b, digest, sizeof(digest));
	put32(b, (uint32_t)strlen(tpl), false);
	put(b, tpl, strlen(tpl));
	put32(b, (uint32_t)data->len, false);
	put(b, data->data, data->len);
}

/* An ima-ng record for @name with a sha256 file digest of @fill bytes. */
static inline void put_ima_ng(struct bytes *b, uint32_t pcr, uint8_t fill, const char *name)
{
	static struct bytes data;

	data.len = 0;
	put_dng(&data, "sha256", fill, 32);
	put_field(&data, name, strlen(name) + 1);
	put_record(b, pcr, fill, "ima-ng", &data);
}

#endif /* VIGIL_TEST_IMA_FIXTURES_H */
