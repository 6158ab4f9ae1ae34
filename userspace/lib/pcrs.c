// SPDX-License-Identifier: MIT
/*
 * pcrs.c: hash algorithms, PCR selections, PCR values, the quote's PCR digest and tpm2-tools'
 * quote.pcrs file format.
 *
 * A PCR selection is TPM2's TPML_PCR_SELECTION: banks in order, a bitmap of PCRs per bank. Its
 * order matters: a quote's pcrDigest hashes the selected PCR values bank by bank in selection
 * order, PCRs ascending within a bank. Two selections are equal when they list the same
 * non-empty banks in the same order with the same PCRs (bitmap length and empty banks do not
 * change what is quoted).
 *
 * quote.pcrs (tpm2_quote -o, "serialized" format, tpm2-tools lib/pcr.c) is a dump of C structs
 * with little-endian integers: TPML_PCR_SELECTION (u32 count, 16 x {u16 hash, u8 sizeofSelect,
 * u8 pcrSelect[4], 1 pad}) = 132 bytes, a u32 number of TPML_DIGEST lists, then that many
 * TPML_DIGEST (u32 count, 8 x {u16 size, u8 buffer[64]}) = 532 bytes each, the digests in
 * selection order, at most 8 per list.
 *
 * Invariants: a selection that passed vigil_pcrsel_check() has 1..VIGIL_BANKS_MAX banks of
 * known hash algorithms, none repeated, PCRs < 24 only, and at least one PCR in total; values
 * always have the size of their bank's digest.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "attest.h"
#include "cleanup.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PCR_MAX 24
#define SPEC_MAX 512

static const struct {
	uint16_t alg;
	const char *name;
	size_t size;
} hashes[] = {
	{ TPM2_ALG_SHA1, "sha1", 20 },
	{ TPM2_ALG_SHA256, "sha256", 32 },
	{ TPM2_ALG_SHA384, "sha384", 48 },
	{ TPM2_ALG_SHA512, "sha512", 64 },
};

/**
 * vigil_hash_from_name() - look up a hash algorithm by its tpm2-tools name
 * @name: "sha1", "sha256", "sha384" or "sha512"
 * @ret_alg: on success, the TPM2_ALG_ID
 *
 * Return: 0, or -EINVAL for any other name.
 */
int vigil_hash_from_name(const char *name, uint16_t *ret_alg)
{
	for (size_t i = 0; i < ARRAY_SIZE(hashes); i++)
		if (!strcmp(name, hashes[i].name)) {
			*ret_alg = hashes[i].alg;
			return 0;
		}
	return -EINVAL;
}

/**
 * vigil_hash_name() - name of a hash algorithm
 * @alg: a TPM2_ALG_ID
 *
 * Return: "sha256" etc., or NULL if vigil does not support @alg.
 */
const char *vigil_hash_name(uint16_t alg)
{
	for (size_t i = 0; i < ARRAY_SIZE(hashes); i++)
		if (hashes[i].alg == alg)
			return hashes[i].name;
	return NULL;
}

/**
 * vigil_hash_size() - digest size of a hash algorithm
 * @alg: a TPM2_ALG_ID
 *
 * Return: the size in bytes, or 0 if vigil does not support @alg.
 */
size_t vigil_hash_size(uint16_t alg)
{
	for (size_t i = 0; i < ARRAY_SIZE(hashes); i++)
		if (hashes[i].alg == alg)
			return hashes[i].size;
	return 0;
}

/**
 * vigil_hash_digest() - hash a buffer with a TPM hash algorithm
 * @alg: a supported TPM2_ALG_ID
 * @data: the bytes
 * @len: their length
 * @out: receives vigil_hash_size(@alg) bytes
 * @size: room in @out
 *
 * Return: 0; -EINVAL for an unsupported @alg; -ENOSPC if @out is too small; -EIO if OpenSSL
 * fails (its error queue says why).
 */
int vigil_hash_digest(uint16_t alg, const void *data, size_t len, uint8_t *out, size_t size)
{
	const char *name = vigil_hash_name(alg);
	unsigned int n = 0;

	if (!name)
		return -EINVAL;
	if (size < vigil_hash_size(alg))
		return -ENOSPC;
	if (!EVP_Digest(data, len, out, &n, EVP_get_digestbyname(name), NULL))
		return -EIO;
	return 0;
}

static bool bank_empty(const TPMS_PCR_SELECTION *s)
{
	for (size_t i = 0; i < s->sizeofSelect && i < TPM2_PCR_SELECT_MAX; i++)
		if (s->pcrSelect[i])
			return false;
	return true;
}

static bool bank_has(const TPMS_PCR_SELECTION *s, uint32_t pcr)
{
	return pcr / 8 < s->sizeofSelect && pcr / 8 < TPM2_PCR_SELECT_MAX &&
	       (s->pcrSelect[pcr / 8] & (1u << (pcr % 8)));
}

/**
 * vigil_pcrsel_check() - check that a selection is one vigil can quote and verify
 * @sel: the selection (from a user, a file or a TPM structure)
 *
 * Return: 0; -EINVAL if it has no PCR, too many banks, a bank twice, an unsupported hash
 * algorithm, a bitmap longer than TPM2_PCR_SELECT_MAX or a PCR >= 24.
 */
int vigil_pcrsel_check(const TPML_PCR_SELECTION *sel)
{
	size_t total = 0;

	if (sel->count == 0 || sel->count > VIGIL_BANKS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < sel->count; i++) {
		const TPMS_PCR_SELECTION *s = &sel->pcrSelections[i];

		if (!vigil_hash_size(s->hash) || s->sizeofSelect > TPM2_PCR_SELECT_MAX)
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (sel->pcrSelections[j].hash == s->hash)
				return -EINVAL;
		for (uint32_t pcr = 0; pcr < s->sizeofSelect * 8u; pcr++)
			if (bank_has(s, pcr) && pcr >= PCR_MAX)
				return -EINVAL;
			else if (bank_has(s, pcr))
				total++;
	}
	return total ? 0 : -EINVAL;
}

/**
 * vigil_pcrsel_has() - is a PCR of a bank selected?
 * @sel: the selection
 * @alg: the bank
 * @pcr: the PCR index
 *
 * Return: true if @sel selects @pcr in bank @alg.
 */
bool vigil_pcrsel_has(const TPML_PCR_SELECTION *sel, uint16_t alg, uint32_t pcr)
{
	for (size_t i = 0; i < sel->count && i < TPM2_NUM_PCR_BANKS; i++)
		if (sel->pcrSelections[i].hash == alg && bank_has(&sel->pcrSelections[i], pcr))
			return true;
	return false;
}

/**
 * vigil_pcrsel_count() - number of (bank, PCR) pairs selected
 * @sel: a selection that passed vigil_pcrsel_check()
 *
 * Return: the number of PCR values a quote of @sel covers.
 */
size_t vigil_pcrsel_count(const TPML_PCR_SELECTION *sel)
{
	size_t n = 0;

	for (size_t i = 0; i < sel->count && i < TPM2_NUM_PCR_BANKS; i++)
		for (uint32_t pcr = 0; pcr < PCR_MAX; pcr++)
			n += bank_has(&sel->pcrSelections[i], pcr);
	return n;
}

/* The next non-empty bank at or after @i, or sel->count. */
static size_t next_bank(const TPML_PCR_SELECTION *sel, size_t i)
{
	while (i < sel->count && i < TPM2_NUM_PCR_BANKS && bank_empty(&sel->pcrSelections[i]))
		i++;
	return i < TPM2_NUM_PCR_BANKS ? i : sel->count;
}

static bool bank_equal(const TPMS_PCR_SELECTION *a, const TPMS_PCR_SELECTION *b)
{
	if (a->hash != b->hash)
		return false;
	for (uint32_t pcr = 0; pcr < TPM2_PCR_SELECT_MAX * 8; pcr++)
		if (bank_has(a, pcr) != bank_has(b, pcr))
			return false;
	return true;
}

/**
 * vigil_pcrsel_equal() - do two selections quote the same PCRs in the same order?
 * @a: one selection
 * @b: the other
 *
 * Return: true if both list the same non-empty banks in the same order with the same PCRs.
 */
bool vigil_pcrsel_equal(const TPML_PCR_SELECTION *a, const TPML_PCR_SELECTION *b)
{
	size_t i = next_bank(a, 0), j = next_bank(b, 0);

	while (i < a->count && j < b->count) {
		if (!bank_equal(&a->pcrSelections[i], &b->pcrSelections[j]))
			return false;
		i = next_bank(a, i + 1);
		j = next_bank(b, j + 1);
	}
	return i >= a->count && j >= b->count;
}

/* "0,1,7-9": set the bits in @s; PCRs < 24 only. */
static int parse_pcr_list(const char *list, TPMS_PCR_SELECTION *s)
{
	const char *p = list;

	if (!*p)
		return -EINVAL;
	while (*p) {
		char *end;
		unsigned long lo, hi;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		lo = strtoul(p, &end, 10);
		hi = lo;
		if (*end == '-') {
			if (end[1] < '0' || end[1] > '9')
				return -EINVAL;
			hi = strtoul(end + 1, &end, 10);
		}
		if (lo >= PCR_MAX || hi >= PCR_MAX || lo > hi || (*end && *end != ','))
			return -EINVAL;
		for (unsigned long pcr = lo; pcr <= hi; pcr++)
			s->pcrSelect[pcr / 8] |= (uint8_t)(1u << (pcr % 8));
		p = *end ? end + 1 : end;
		if (*end && !*p)
			return -EINVAL;
	}
	return 0;
}

static int parse_bank(char *bank, TPMS_PCR_SELECTION *s)
{
	char *colon = strchr(bank, ':');
	uint16_t alg;

	if (!colon)
		return -EINVAL;
	*colon = '\0';
	if (vigil_hash_from_name(bank, &alg) < 0)
		return -EINVAL;
	*s = (TPMS_PCR_SELECTION){ .hash = alg, .sizeofSelect = PCR_MAX / 8 };
	return parse_pcr_list(colon + 1, s);
}

/**
 * vigil_pcrsel_parse() - parse a PCR selection in tpm2-tools syntax
 * @spec: "BANK:LIST[+BANK:LIST]...", LIST = comma-separated PCR numbers or ranges N-M, e.g.
 *	"sha256:0-7,11" or "sha256:11+sha1:11"
 * @ret: on success, the selection (bitmaps of 3 bytes), checked by vigil_pcrsel_check()
 *
 * Return: 0, or -EINVAL if @spec is malformed or fails vigil_pcrsel_check().
 */
int vigil_pcrsel_parse(const char *spec, TPML_PCR_SELECTION *ret)
{
	TPML_PCR_SELECTION sel = { 0 };
	char copy[SPEC_MAX], *save = NULL, *bank;
	size_t len = strlen(spec);

	if (len == 0 || len >= sizeof(copy) || spec[0] == '+' || spec[len - 1] == '+' ||
	    strstr(spec, "++"))
		return -EINVAL;
	memcpy(copy, spec, len + 1);
	for (bank = strtok_r(copy, "+", &save); bank; bank = strtok_r(NULL, "+", &save)) {
		if (sel.count == VIGIL_BANKS_MAX)
			return -EINVAL;
		if (parse_bank(bank, &sel.pcrSelections[sel.count]) < 0)
			return -EINVAL;
		sel.count++;
	}
	if (vigil_pcrsel_check(&sel) < 0)
		return -EINVAL;
	*ret = sel;
	return 0;
}

/**
 * vigil_pcrsel_format() - write a selection in the syntax vigil_pcrsel_parse() reads
 * @sel: a selection that passed vigil_pcrsel_check()
 * @buf: receives e.g. "sha256:0,1,11+sha1:11"
 * @size: room in @buf
 *
 * Return: 0, -EINVAL for an unchecked selection, or -ENOSPC if @buf is too small.
 */
int vigil_pcrsel_format(const TPML_PCR_SELECTION *sel, char *buf, size_t size)
{
	size_t len = 0;

	if (vigil_pcrsel_check(sel) < 0)
		return -EINVAL;
	if (size)
		buf[0] = '\0';
	for (size_t i = 0; i < sel->count; i++) {
		const TPMS_PCR_SELECTION *s = &sel->pcrSelections[i];
		char sep = ':';
		int n;

		if (bank_empty(s))
			continue;
		n = snprintf(buf + len, size - len, "%s%s", len ? "+" : "",
			     vigil_hash_name(s->hash));
		if (n < 0 || (size_t)n >= size - len)
			return -ENOSPC;
		len += (size_t)n;
		for (uint32_t pcr = 0; pcr < PCR_MAX; pcr++) {
			if (!bank_has(s, pcr))
				continue;
			n = snprintf(buf + len, size - len, "%c%u", sep, pcr);
			if (n < 0 || (size_t)n >= size - len)
				return -ENOSPC;
			len += (size_t)n;
			sep = ',';
		}
	}
	return 0;
}

/**
 * vigil_pcr_values_add() - add one PCR value
 * @vals: the set
 * @alg: the bank
 * @pcr: the PCR index, < 24
 * @digest: the value
 * @size: its length, which must be vigil_hash_size(@alg)
 *
 * Return: 0; -EINVAL for a bad bank, PCR or size; -EEXIST if (@alg, @pcr) has a value already;
 * -E2BIG if @vals is full.
 */
int vigil_pcr_values_add(struct vigil_pcr_values *vals, uint16_t alg, uint32_t pcr,
			 const uint8_t *digest, size_t size)
{
	struct vigil_pcr_value *v;

	if (pcr >= PCR_MAX || !vigil_hash_size(alg) || size != vigil_hash_size(alg))
		return -EINVAL;
	if (vigil_pcr_values_get(vals, alg, pcr))
		return -EEXIST;
	if (vals->count >= VIGIL_PCR_VALUES_MAX)
		return -E2BIG;
	v = &vals->v[vals->count++];
	*v = (struct vigil_pcr_value){ .alg = alg, .pcr = (uint8_t)pcr, .size = (uint8_t)size };
	memcpy(v->digest, digest, size);
	return 0;
}

/**
 * vigil_pcr_values_get() - look up one PCR value
 * @vals: the set
 * @alg: the bank
 * @pcr: the PCR index
 *
 * Return: the value, or NULL if @vals has none for (@alg, @pcr).
 */
const struct vigil_pcr_value *vigil_pcr_values_get(const struct vigil_pcr_values *vals,
						   uint16_t alg, uint32_t pcr)
{
	for (size_t i = 0; i < vals->count && i < VIGIL_PCR_VALUES_MAX; i++)
		if (vals->v[i].alg == alg && vals->v[i].pcr == pcr)
			return &vals->v[i];
	return NULL;
}

/**
 * vigil_pcr_values_digest() - the PCR digest a quote of @sel over @vals must carry
 * @sel: a selection that passed vigil_pcrsel_check()
 * @vals: a value for every selected PCR
 * @hash_alg: the quote's signing hash (TPM2_Quote hashes the PCRs with the signing scheme's hash)
 * @out: receives the digest
 * @size: room in @out
 * @ret_len: on success, the digest's length
 *
 * Return: 0; -ENOENT if @vals lacks a selected PCR; -EINVAL, -ENOSPC, -ENOMEM, -EIO.
 */
int vigil_pcr_values_digest(const TPML_PCR_SELECTION *sel, const struct vigil_pcr_values *vals,
			    uint16_t hash_alg, uint8_t *out, size_t size, size_t *ret_len)
{
	uint8_t buf[VIGIL_PCR_VALUES_MAX * 64]; /* 12 KiB: every value of a full selection */
	size_t len = 0;
	int r;

	if (vigil_pcrsel_check(sel) < 0 || !vigil_hash_size(hash_alg))
		return -EINVAL;
	for (size_t i = 0; i < sel->count; i++)
		for (uint32_t pcr = 0; pcr < PCR_MAX; pcr++) {
			const struct vigil_pcr_value *v;

			if (!bank_has(&sel->pcrSelections[i], pcr))
				continue;
			v = vigil_pcr_values_get(vals, sel->pcrSelections[i].hash, pcr);
			if (!v)
				return -ENOENT;
			memcpy(buf + len, v->digest, v->size);
			len += v->size;
		}
	r = vigil_hash_digest(hash_alg, buf, len, out, size);
	if (r < 0)
		return r;
	*ret_len = vigil_hash_size(hash_alg);
	return 0;
}

/* tpm2-tools' serialized quote.pcrs: struct sizes on every platform tpm2-tools runs on. */
#define FILE_SEL_BANKS ((size_t)16)
#define FILE_SEL_ENTRY ((size_t)8)
#define FILE_SEL_SIZE (4 + FILE_SEL_BANKS * FILE_SEL_ENTRY)
#define FILE_LIST_DIGESTS ((size_t)8)
#define FILE_DIGEST_SIZE ((size_t)2 + 64)
#define FILE_LIST_SIZE ((size_t)4 + FILE_LIST_DIGESTS * FILE_DIGEST_SIZE)

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static int file_selection(const uint8_t *buf, TPML_PCR_SELECTION *sel)
{
	*sel = (TPML_PCR_SELECTION){ .count = get_le32(buf) };
	if (sel->count == 0 || sel->count > VIGIL_BANKS_MAX)
		return -EBADMSG;
	for (size_t i = 0; i < sel->count; i++) {
		const uint8_t *e = buf + 4 + i * FILE_SEL_ENTRY;
		TPMS_PCR_SELECTION *s = &sel->pcrSelections[i];

		s->hash = get_le16(e);
		s->sizeofSelect = e[2];
		if (s->sizeofSelect > TPM2_PCR_SELECT_MAX)
			return -EBADMSG;
		memcpy(s->pcrSelect, e + 3, s->sizeofSelect);
	}
	return vigil_pcrsel_check(sel) < 0 ? -EBADMSG : 0;
}

/* Hand out the digests of the lists in order, as tpm2_checkquote consumes them. */
struct digest_cursor {
	const uint8_t *lists;
	size_t nlists, list, index;
};

static const uint8_t *next_digest(struct digest_cursor *c, size_t want)
{
	while (c->list < c->nlists) {
		const uint8_t *l = c->lists + c->list * FILE_LIST_SIZE;
		uint32_t count = get_le32(l);

		if (count == 0 || count > FILE_LIST_DIGESTS)
			return NULL;
		if (c->index < count) {
			const uint8_t *d = l + 4 + c->index * FILE_DIGEST_SIZE;

			c->index++;
			return get_le16(d) == want ? d + 2 : NULL;
		}
		c->list++;
		c->index = 0;
	}
	return NULL;
}

/* Every digest of every list consumed: nothing missing, nothing left over. */
static bool cursor_done(const struct digest_cursor *c)
{
	return c->list + 1 == c->nlists &&
	       c->index == get_le32(c->lists + c->list * FILE_LIST_SIZE);
}

static int parse_file(const uint8_t *buf, size_t len, TPML_PCR_SELECTION *sel,
		      struct vigil_pcr_values *vals)
{
	struct digest_cursor c = { .lists = buf + FILE_SEL_SIZE + 4 };
	uint32_t nlists;

	if (len < FILE_SEL_SIZE + 4 || file_selection(buf, sel) < 0)
		return -EBADMSG;
	nlists = get_le32(buf + FILE_SEL_SIZE);
	if (nlists == 0 || nlists > VIGIL_PCR_VALUES_MAX ||
	    len != FILE_SEL_SIZE + 4 + (size_t)nlists * FILE_LIST_SIZE)
		return -EBADMSG;
	c.nlists = nlists;
	for (size_t i = 0; i < sel->count; i++)
		for (uint32_t pcr = 0; pcr < PCR_MAX; pcr++) {
			uint16_t alg = sel->pcrSelections[i].hash;
			const uint8_t *d;

			if (!bank_has(&sel->pcrSelections[i], pcr))
				continue;
			d = next_digest(&c, vigil_hash_size(alg));
			if (!d || vigil_pcr_values_add(vals, alg, pcr, d, vigil_hash_size(alg)) < 0)
				return -EBADMSG;
		}
	return cursor_done(&c) ? 0 : -EBADMSG;
}

/**
 * vigil_pcrs_file_parse() - parse tpm2_quote's quote.pcrs (serialized format)
 * @buf: the file's contents
 * @len: their length
 * @ret_sel: on success, the selection the file covers
 * @ret_vals: on success, one value per selected PCR
 *
 * Return: 0, or -EBADMSG if the size is not exactly that of the structures the header declares,
 * the selection fails vigil_pcrsel_check(), a digest has the wrong size, or the digests do not
 * cover the selection exactly (none missing, none left over).
 */
int vigil_pcrs_file_parse(const uint8_t *buf, size_t len, TPML_PCR_SELECTION *ret_sel,
			  struct vigil_pcr_values *ret_vals)
{
	struct vigil_pcr_values *vals = calloc(1, sizeof(*vals));
	TPML_PCR_SELECTION sel;
	int r;

	if (!vals)
		return -ENOMEM;
	r = parse_file(buf, len, &sel, vals);
	if (r == 0) {
		*ret_sel = sel;
		*ret_vals = *vals;
	}
	free(vals);
	return r;
}

/* The digest lists, 8 values each, in selection order; every value is known to exist. */
static void put_digests(const TPML_PCR_SELECTION *sel, const struct vigil_pcr_values *vals,
			uint8_t *lists)
{
	size_t k = 0;

	for (size_t i = 0; i < sel->count; i++)
		for (uint32_t pcr = 0; pcr < PCR_MAX; pcr++) {
			const struct vigil_pcr_value *v;
			uint8_t *l = lists + k / FILE_LIST_DIGESTS * FILE_LIST_SIZE;
			uint8_t *d = l + 4 + k % FILE_LIST_DIGESTS * FILE_DIGEST_SIZE;

			v = bank_has(&sel->pcrSelections[i], pcr) ?
				    vigil_pcr_values_get(vals, sel->pcrSelections[i].hash, pcr) :
				    NULL;
			if (!v)
				continue;
			put_le32(l, get_le32(l) + 1);
			put_le16(d, v->size);
			memcpy(d + 2, v->digest, v->size);
			k++;
		}
}

/**
 * vigil_pcrs_file_build() - write quote.pcrs as tpm2_quote does, for tpm2_checkquote -f
 * @sel: a selection that passed vigil_pcrsel_check()
 * @vals: a value for every selected PCR
 * @ret: on success, the file's contents; free() it
 * @ret_len: on success, their length
 *
 * Return: 0; -EINVAL for a bad selection; -ENOENT if @vals lacks a selected PCR; -ENOMEM.
 */
int vigil_pcrs_file_build(const TPML_PCR_SELECTION *sel, const struct vigil_pcr_values *vals,
			  uint8_t **ret, size_t *ret_len)
{
	size_t nlists, len;
	uint8_t *buf;

	if (vigil_pcrsel_check(sel) < 0)
		return -EINVAL;
	for (size_t i = 0; i < sel->count; i++)
		for (uint32_t pcr = 0; pcr < PCR_MAX; pcr++)
			if (bank_has(&sel->pcrSelections[i], pcr) &&
			    !vigil_pcr_values_get(vals, sel->pcrSelections[i].hash, pcr))
				return -ENOENT;
	nlists = (vigil_pcrsel_count(sel) + FILE_LIST_DIGESTS - 1) / FILE_LIST_DIGESTS;
	len = FILE_SEL_SIZE + 4 + nlists * FILE_LIST_SIZE;
	buf = calloc(1, len);
	if (!buf)
		return -ENOMEM;
	put_le32(buf, sel->count);
	for (size_t i = 0; i < sel->count; i++) {
		uint8_t *e = buf + 4 + i * FILE_SEL_ENTRY;

		put_le16(e, sel->pcrSelections[i].hash);
		e[2] = sel->pcrSelections[i].sizeofSelect;
		memcpy(e + 3, sel->pcrSelections[i].pcrSelect, sel->pcrSelections[i].sizeofSelect);
	}
	put_le32(buf + FILE_SEL_SIZE, (uint32_t)nlists);
	put_digests(sel, vals, buf + FILE_SEL_SIZE + 4);
	*ret = buf;
	*ret_len = len;
	return 0;
}
