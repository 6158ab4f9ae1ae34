// SPDX-License-Identifier: MIT
/*
 * fuzz_log_ascii.c: libFuzzer harness for the ASCII measurement list parser (lib/log_ascii.c),
 * which rebuilds binary records from text, and for replaying what it rebuilt.
 *
 * The first input byte picks the bank of the template digests, the rest is the text. Besides
 * "no crash, no leak, no UB", it checks that the parser accepts only what IMA prints: a text
 * that parses is exactly the text its records print (lowercase hex, canonical decimals, one
 * space between fields), byte for byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_tpm2_types.h>

#include "libvigil.h"

static const uint16_t banks[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384,
				  TPM2_ALG_SHA512 };

static void check_prints_back(const struct vigil_log *log, const char *text, size_t len)
{
	size_t pos = 0, n;

	for (size_t i = 0; i < log->count; i++) {
		size_t size = vigil_log_record_ascii_size(log, &log->records[i]);
		char *line = malloc(size);

		if (!line)
			return;
		if (vigil_log_record_ascii(log, &log->records[i], line, size, &n) ||
		    n > len - pos || memcmp(line, text + pos, n))
			abort();
		pos += n;
		free(line);
	}
	if (pos != len)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_log_options opts = { 0 };
	struct vigil_replay_result res;
	struct vigil_log *log = NULL;
	size_t covered;

	if (size < 1)
		return 0;
	opts.tpm_alg = banks[data[0] & 3];
	if (vigil_log_parse_ascii((const char *)data + 1, size - 1, &opts, &log, NULL) < 0)
		return 0;
	check_prints_back(log, (const char *)data + 1, size - 1);
	if (vigil_replay(log, opts.tpm_alg, 10, 0, NULL, &res) == 0 &&
	    vigil_replay_match(log, opts.tpm_alg, 10, res.value, res.size, &covered) !=
		    VIGIL_REPLAY_MATCH)
		abort();
	vigil_log_free(log);
	return 0;
}
