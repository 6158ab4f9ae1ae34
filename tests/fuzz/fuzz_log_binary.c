// SPDX-License-Identifier: MIT
/*
 * fuzz_log_binary.c: libFuzzer harness for the binary measurement log parser (lib/log.c,
 * lib/log_fields.c) and everything that consumes a parsed log: field decoding, the ASCII layout,
 * replay and the boot_aggregate check.
 *
 * The first input byte picks the parse options (bank of the template digests, byte order), the
 * rest is the log. Besides "no crash, no leak, no UB", it checks two properties:
 *   - the parser accepts a log only whole: the records tile the input exactly;
 *   - the ASCII layout round-trips: when the ASCII text of a parsed log parses back, printing it
 *     again gives the same text. Names with a space or newline may make the text unparseable or
 *     split it into other records, which is allowed; a different text is not.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_tpm2_types.h>

#include "libvigil.h"

static const uint16_t banks[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384,
				  TPM2_ALG_SHA512 };

/* The whole log in the ASCII layout, or NULL; *len gets its length. */
static char *to_ascii(const struct vigil_log *log, size_t *len)
{
	size_t cap = 0, n;
	char *text = NULL;

	*len = 0;
	for (size_t i = 0; i < log->count; i++)
		cap += vigil_log_record_ascii_size(log, &log->records[i]);
	text = malloc(cap + 1);
	if (!text)
		return NULL;
	for (size_t i = 0; i < log->count; i++) {
		if (vigil_log_record_ascii(log, &log->records[i], text + *len, cap + 1 - *len,
					   &n)) {
			free(text);
			return NULL;
		}
		*len += n;
	}
	return text;
}

static void check_tiling(const struct vigil_log *log)
{
	size_t pos = 0;

	for (size_t i = 0; i < log->count; i++) {
		const struct vigil_log_record *rec = &log->records[i];

		if (rec->offset != pos || rec->pcr >= 24)
			abort();
		pos += rec->data_off + (size_t)rec->data_len;
	}
	if (pos != log->size)
		abort();
}

static void check_ascii_round_trip(const struct vigil_log *log)
{
	struct vigil_log_options opts = { .tpm_alg = log->tpm_alg, .flags = VIGIL_LOG_ALLOW_EMPTY };
	struct vigil_log *again = NULL;
	char *text, *text2;
	size_t len, len2;

	text = to_ascii(log, &len);
	if (!text)
		return;
	if (vigil_log_parse_ascii(text, len, &opts, &again, NULL) == 0) {
		text2 = to_ascii(again, &len2);
		if (!text2 || len2 != len || memcmp(text, text2, len))
			abort();
		free(text2);
		vigil_log_free(again);
	}
	free(text);
}

static void consume(const struct vigil_log *log)
{
	uint8_t pcrs[VIGIL_BOOT_AGGREGATE_PCRS][VIGIL_LOG_DIGEST_MAX] = { { 0 } };
	struct vigil_replay_result res;
	struct vigil_log_fields f, fast;
	size_t covered;
	int r;

	for (size_t i = 0; i < log->count; i++) {
		r = vigil_log_record_fields(log, &log->records[i], &f);
		/* the verifier's fast path must agree with the full split */
		if (vigil_log_record_file(log, &log->records[i], &fast) != r ||
		    (r == 0 && (fast.digest != f.digest || fast.digest_len != f.digest_len ||
				fast.name != f.name || fast.name_len != f.name_len ||
				fast.digest_alg != f.digest_alg)))
			abort();
	}
	if (vigil_replay(log, TPM2_ALG_SHA256, 10, 0, NULL, &res) == 0)
		r = vigil_replay_match(log, TPM2_ALG_SHA256, 10, res.value, res.size, &covered);
	else
		r = -1;
	if (r != -1 && r != VIGIL_REPLAY_MATCH)
		abort(); /* the full replay's own value must be matched by some prefix */
	(void)vigil_replay_ex(log, TPM2_ALG_SHA1, 10, 0, NULL, VIGIL_REPLAY_PADDED_SHA1, &res);
	(void)vigil_boot_aggregate_check(log, TPM2_ALG_SHA256, pcrs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_log_options opts = { 0 };
	struct vigil_log *log = NULL;

	if (size < 1)
		return 0;
	opts.tpm_alg = banks[data[0] & 3];
	opts.endian = (enum vigil_log_endian)((data[0] >> 2) % 3);
	if (vigil_log_parse(data + 1, size - 1, &opts, &log, NULL) < 0)
		return 0;
	check_tiling(log);
	consume(log);
	check_ascii_round_trip(log);
	vigil_log_free(log);
	return 0;
}
