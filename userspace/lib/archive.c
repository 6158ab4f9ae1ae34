// SPDX-License-Identifier: MIT
/*
 * archive.c: appending to the evidence archive: open (and create) an archive directory under
 * its lock, store one record as content-addressed blobs plus an entry document chained to the
 * previous entry, optionally with an RFC 3161 token over the entry, and move the head.
 *
 * One append, in an order that leaves a consistent archive whenever it stops: the entry's text
 * is built first and, when a TSA is configured, timestamped (a TSA failure writes nothing);
 * then the blobs (each written to a temporary name and renamed, so a blob is whole or absent);
 * the token; the entry (O_EXCL, fsync()ed); the directories fsync()ed; last head.json,
 * replaced atomically. A crash before the head moved leaves at most an entry after the head
 * that continues the chain: the next vigil_archive_open() adopts it (rolls the head forward)
 * and drops a token left without its entry. Anything else after the head is not adopted:
 * opening fails with -EEXIST until someone looked at it (vigil archive verify names it).
 *
 * Invariants: one appender at a time (flock() on DIR/.lock from open to close); entries and
 * blobs are never modified once written; an append that fails removes the entry and token it
 * wrote, so the head always names the last entry; *ret_seq only on success.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "archive_internal.h"
#include "cleanup.h"
#include "policy_internal.h"

struct vigil_archive {
	char *dir;
	int lock_fd;
	uint64_t seq; /* the head: the last entry, 0 for none */
	uint8_t head[32]; /* the SHA-256 of its file */
};

static int sha256(const void *data, size_t len, uint8_t out[32])
{
	return vigil_hash_digest(TPM2_ALG_SHA256, data, len, out, 32);
}

static int path_in(const char *dir, const char *name, char **ret)
{
	if (asprintf(ret, "%s/%s", dir, name) < 0)
		return -ENOMEM;
	return 0;
}

/* Make a new name in a directory durable. */
static int sync_dir(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

static int make_dir(const char *dir, const char *name)
{
	_cleanup_free_ char *path = NULL;

	if (path_in(dir, name, &path) < 0)
		return -ENOMEM;
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int write_head(struct vigil_archive *a, uint64_t seq, const uint8_t sha[32])
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	_cleanup_free_ char *path = NULL, *text = NULL;
	char hex[65];
	int r;

	vigil_hex_encode(sha, 32, hex, sizeof(hex));
	if (!o || vigil_json_add(o, "seq", json_object_new_uint64(seq)) < 0 ||
	    vigil_json_add(o, "sha256", json_object_new_string(hex)) < 0 ||
	    vigil_json_format(o, &text) < 0 || path_in(a->dir, ARCHIVE_HEAD, &path) < 0)
		return -ENOMEM;
	r = vigil_file_write_atomic(path, text, strlen(text), 0644);
	if (r < 0)
		return r; /* the old head stands */
	a->seq = seq;
	memcpy(a->head, sha, 32);
	/* the new head is in place; should the rename not survive a crash, the next open
	 * adopts the entry it names again (roll_forward()) */
	(void)sync_dir(a->dir);
	return 0;
}

static int write_marker(const char *dir)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	_cleanup_free_ char *path = NULL, *text = NULL;
	char created[VIGIL_POLICY_TIME_LEN + 1];
	int r;

	if (vigil_policy_time_format((int64_t)time(NULL), created) < 0)
		return -EINVAL;
	if (!o ||
	    vigil_json_add(o, "vigil_archive", json_object_new_int(VIGIL_ARCHIVE_FORMAT)) < 0 ||
	    vigil_json_add(o, "created", json_object_new_string(created)) < 0 ||
	    vigil_json_format(o, &text) < 0 || path_in(dir, ARCHIVE_MARKER, &path) < 0)
		return -ENOMEM;
	r = vigil_file_write_new(path, text, strlen(text), 0644);
	return r == -EEXIST ? 0 : r;
}

/* Under the lock: the directories, the marker, and the head of an archive without entries. */
static int create_layout(struct vigil_archive *a)
{
	static const uint8_t zero[32];
	_cleanup_free_ char *first = NULL;
	uint8_t sha[32];
	uint64_t seq;
	int r = make_dir(a->dir, ARCHIVE_ENTRIES);

	if (r == 0)
		r = make_dir(a->dir, ARCHIVE_BLOBS);
	if (r == 0)
		r = write_marker(a->dir);
	if (r < 0)
		return r;
	r = vigil_archive_head_read(a->dir, &seq, sha);
	if (r != -ENOENT)
		return r;
	/* no head: only a fresh archive gets one; a lost head is damage, not a fresh start */
	if (vigil_archive_entry_path(a->dir, 1, ".json", &first) < 0)
		return -ENOMEM;
	if (access(first, F_OK) == 0)
		return -EBADMSG;
	return write_head(a, 0, zero);
}

static int take_lock(struct vigil_archive *a)
{
	_cleanup_free_ char *path = NULL;

	if (path_in(a->dir, ARCHIVE_LOCK, &path) < 0)
		return -ENOMEM;
	a->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	if (a->lock_fd < 0)
		return -errno;
	while (flock(a->lock_fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/*
 * An entry after the head: an append that stopped between its entry and its head. Adopt it
 * when it continues the chain (return 1); a token without its entry is dropped (nothing names
 * it).
 */
static int roll_forward(struct vigil_archive *a)
{
	_cleanup_free_ char *path = NULL, *tsr = NULL;
	_cleanup_free_ uint8_t *text = NULL;
	struct vigil_archive_doc d;
	uint8_t sha[32];
	size_t len = 0;
	int r;

	if (a->seq + 1 >= VIGIL_ARCHIVE_SEQ_MAX)
		return 0;
	if (vigil_archive_entry_path(a->dir, a->seq + 1, ".json", &path) < 0 ||
	    vigil_archive_entry_path(a->dir, a->seq + 1, ".tsr", &tsr) < 0)
		return -ENOMEM;
	r = vigil_file_read(path, VIGIL_ARCHIVE_ENTRY_MAX, &text, &len);
	if (r == -ENOENT)
		return unlink(tsr) < 0 && errno != ENOENT ? -errno : 0;
	if (r < 0)
		return r == -EFBIG ? -EEXIST : r;
	r = vigil_archive_entry_parse((const char *)text, len, &d, NULL);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return -EEXIST;
	vigil_archive_entry_release(&d.entry);
	if (d.entry.seq != a->seq + 1 || CRYPTO_memcmp(d.prev, a->head, 32) != 0)
		return -EEXIST;
	r = sha256(text, len, sha);
	if (r == 0)
		r = write_head(a, a->seq + 1, sha);
	return r < 0 ? r : 1;
}

/* Under the lock: the layout (when creating), the marker, the head, an interrupted append. */
static int prepare(struct vigil_archive *a, bool create)
{
	int r = take_lock(a);

	if (r == 0 && create)
		r = create_layout(a);
	if (r == 0)
		r = vigil_archive_marker_read(a->dir);
	if (r == 0)
		r = vigil_archive_head_read(a->dir, &a->seq, a->head);
	if (r == -ENOENT)
		r = -EBADMSG; /* a marker but no head */
	while (r == 0 && (r = roll_forward(a)) == 1)
		r = 0;
	return r;
}

/**
 * vigil_archive_open() - open an archive directory for appending
 * @dir: the archive directory
 * @create: create it (one level: its parent must exist) or complete its layout if needed
 * @ret: on success, the archive, holding its lock; vigil_archive_close() releases both
 *
 * Blocks until no other appender holds the archive.
 *
 * Return: 0; -ENOENT (no archive at @dir and !@create); -EBADMSG (@dir is not an archive, or
 * is damaged: no head but entries); -EPROTONOSUPPORT (an archive of another format); -EEXIST
 * (an entry after the head that does not continue it); another negative errno from the file
 * system; -ENOMEM.
 */
int vigil_archive_open(const char *dir, bool create, struct vigil_archive **ret)
{
	struct vigil_archive *a;
	int r;

	if (create && mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (!create) { /* no lock file left in a directory that is not an archive */
		r = vigil_archive_marker_read(dir);
		if (r < 0)
			return r;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->lock_fd = -1;
	a->dir = strdup(dir);
	r = a->dir ? prepare(a, create) : -ENOMEM;
	if (r < 0) {
		vigil_archive_close(a);
		return r;
	}
	*ret = a;
	return 0;
}

/**
 * vigil_archive_close() - release an archive's lock and memory
 * @a: the archive, or NULL
 */
void vigil_archive_close(struct vigil_archive *a)
{
	if (!a)
		return;
	if (a->lock_fd >= 0)
		close(a->lock_fd);
	free(a->dir);
	free(a);
}

/**
 * vigil_archive_closep() - vigil_archive_close() for _cleanup_()
 * @a: the archive variable; NULL afterwards
 */
void vigil_archive_closep(struct vigil_archive **a)
{
	vigil_archive_close(*a);
	*a = NULL;
}

/* ---- the record ---- */

static bool sized(const void *p, size_t len)
{
	return p && len >= 1 && len <= VIGIL_ARCHIVE_ITEM_MAX;
}

static bool text_valid(const char *s, size_t min, size_t max)
{
	size_t len = s ? strlen(s) : 0;

	return s && len >= min && len <= max && vigil_utf8_valid(s, len);
}

static bool attestation_valid(const struct vigil_archive_record *rec)
{
	const struct vigil_reverify_input *in = &rec->in;
	TPML_PCR_SELECTION sel;

	if (!sized(in->evidence, in->evidence_len) || !sized(in->ak_pem, in->ak_pem_len) ||
	    !sized(rec->verdict, rec->verdict_len) || !in->nonce ||
	    in->nonce_len < VIGIL_NONCE_MIN || in->nonce_len > VIGIL_NONCE_MAX || !in->selection ||
	    !text_valid(in->selection, 1, 63) || vigil_pcrsel_parse(in->selection, &sel) < 0 ||
	    !vigil_hash_name(in->bank) || in->pcr > 23 || in->policy_floor >= (1ull << 53) ||
	    in->ntrust > VIGIL_ARCHIVE_TRUST_MAX || (in->ntrust && (!in->trust || !in->trust_len)))
		return false;
	if ((in->policy && !sized(in->policy, in->policy_len)) || !rec->ear != !rec->ear_key ||
	    (rec->ear &&
	     (!sized(rec->ear, rec->ear_len) || !sized(rec->ear_key, rec->ear_key_len))))
		return false;
	for (size_t i = 0; i < in->ntrust; i++)
		if (!sized(in->trust[i], in->trust_len[i]))
			return false;
	return true;
}

/* An attestation's default device name: its AK's key id. */
static int ak_device(const struct vigil_archive_record *rec, char out[VIGIL_ARCHIVE_DEVICE_MAX + 1])
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *ak = NULL;
	uint8_t id[VIGIL_AK_KEYID_SIZE];
	int r = vigil_ak_pem_parse(rec->in.ak_pem, rec->in.ak_pem_len, &ak);

	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return -EINVAL;
	r = vigil_ak_keyid(ak, id);
	if (r < 0)
		return r;
	return vigil_hex_encode(id, sizeof(id), out, VIGIL_ARCHIVE_DEVICE_MAX + 1);
}

static int ref_of(const void *data, size_t len, struct vigil_archive_ref *ret)
{
	ret->size = len;
	return sha256(data, len, ret->sha256);
}

static int attestation_doc(const struct vigil_archive_record *rec, struct vigil_archive_doc *d)
{
	const struct vigil_reverify_input *in = &rec->in;
	const void *data[VIGIL_ARCHIVE_ITEM_COUNT] = { in->evidence, in->ak_pem, in->policy,
						       rec->verdict, rec->ear,	 rec->ear_key };
	const size_t len[VIGIL_ARCHIVE_ITEM_COUNT] = { in->evidence_len, in->ak_pem_len,
						       in->policy_len,	 rec->verdict_len,
						       rec->ear_len,	 rec->ear_key_len };
	struct vigil_archive_entry *e = &d->entry;
	int r = 0;

	memcpy(e->nonce, in->nonce, in->nonce_len);
	e->nonce_len = in->nonce_len;
	snprintf(e->selection, sizeof(e->selection), "%s", in->selection);
	e->bank = in->bank;
	e->pcr = in->pcr;
	e->policy_floor = in->policy_floor;
	e->have_prev = in->prev != NULL;
	if (in->prev)
		e->prev = *in->prev;
	for (size_t i = 0; r == 0 && i < VIGIL_ARCHIVE_ITEM_COUNT; i++) {
		d->has[i] = data[i] != NULL;
		if (data[i])
			r = ref_of(data[i], len[i], &d->items[i]);
	}
	e->ntrust = in->ntrust;
	for (size_t i = 0; r == 0 && i < in->ntrust; i++)
		r = ref_of(in->trust[i], in->trust_len[i], &d->trust[i]);
	return r;
}

/* The entry document for @rec as entry a->seq + 1; by and reason are borrowed from @rec. */
static int build_doc(const struct vigil_archive *a, const struct vigil_archive_record *rec,
		     struct vigil_archive_doc *d)
{
	struct vigil_archive_entry *e = &d->entry;
	char time[VIGIL_POLICY_TIME_LEN + 1];
	bool att = rec->kind == VIGIL_ARCHIVE_ATTESTATION;

	if ((!att && rec->kind != VIGIL_ARCHIVE_MONITORING) ||
	    vigil_policy_time_format(rec->time, time) < 0 ||
	    (rec->device && !vigil_archive_device_valid(rec->device, strlen(rec->device))))
		return -EINVAL;
	if (att ? !attestation_valid(rec) :
		  !text_valid(rec->by, 1, VIGIL_ARCHIVE_BY_MAX) ||
			    !text_valid(rec->reason ? rec->reason : "", 0,
					VIGIL_ARCHIVE_REASON_MAX))
		return -EINVAL;
	if (a->seq + 1 >= VIGIL_ARCHIVE_SEQ_MAX)
		return -EOVERFLOW;
	e->seq = a->seq + 1;
	memcpy(d->prev, a->head, 32);
	e->kind = rec->kind;
	e->time = rec->time;
	if (rec->device)
		snprintf(e->device, sizeof(e->device), "%s", rec->device);
	if (!att) {
		e->monitoring_off = rec->monitoring_off;
		e->by = (char *)rec->by;
		e->reason = (char *)rec->reason;
		return 0;
	}
	if (!rec->device) {
		int r = ak_device(rec, e->device);

		if (r < 0)
			return r;
	}
	return attestation_doc(rec, d);
}

/* ---- writing ---- */

/*
 * A blob is written once; one already there with other bytes (damage) is replaced. It is read,
 * not mapped: a file someone truncates meanwhile must not kill the verifier with SIGBUS.
 */
static int store_blob(const char *dir, const void *data, size_t len, const uint8_t sha[32])
{
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ uint8_t *old = NULL;
	size_t old_len = 0;
	int r;

	if (!data)
		return -EINVAL;
	if (vigil_archive_blob_path(dir, sha, &path) < 0)
		return -ENOMEM;
	r = vigil_file_read(path, VIGIL_ARCHIVE_ITEM_MAX, &old, &old_len);
	if (r == 0 && old_len == len && old && !memcmp(old, data, len))
		return 0;
	if (r < 0 && r != -ENOENT && r != -EFBIG)
		return r;
	return vigil_file_write_atomic(path, data, len, 0644);
}

static int store_items(const char *dir, const struct vigil_archive_record *rec,
		       const struct vigil_archive_doc *d)
{
	const struct vigil_reverify_input *in = &rec->in;
	const void *data[VIGIL_ARCHIVE_ITEM_COUNT] = { in->evidence, in->ak_pem, in->policy,
						       rec->verdict, rec->ear,	 rec->ear_key };
	_cleanup_free_ char *blobs = NULL;
	int r = 0;

	if (rec->kind != VIGIL_ARCHIVE_ATTESTATION)
		return 0;
	for (size_t i = 0; r == 0 && i < VIGIL_ARCHIVE_ITEM_COUNT; i++)
		if (d->has[i])
			r = store_blob(dir, data[i], d->items[i].size, d->items[i].sha256);
	for (size_t i = 0; r == 0 && i < d->entry.ntrust; i++)
		r = store_blob(dir, in->trust[i], d->trust[i].size, d->trust[i].sha256);
	if (r < 0)
		return r;
	if (path_in(dir, ARCHIVE_BLOBS, &blobs) < 0 || !blobs)
		return -ENOMEM;
	return sync_dir(blobs);
}

/* The token, the entry and the directory entries naming them; on failure neither remains. */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the entry, then its token */
static int write_entry(struct vigil_archive *a, const char *text, size_t len, const uint8_t *tsr,
		       size_t tsr_len)
{
	_cleanup_free_ char *path = NULL, *tsr_path = NULL, *entries = NULL;
	uint64_t seq = a->seq + 1;
	int r;

	if (vigil_archive_entry_path(a->dir, seq, ".json", &path) < 0 ||
	    vigil_archive_entry_path(a->dir, seq, ".tsr", &tsr_path) < 0 ||
	    path_in(a->dir, ARCHIVE_ENTRIES, &entries) < 0)
		return -ENOMEM;
	r = tsr ? vigil_file_write_new(tsr_path, tsr, tsr_len, 0644) : 0;
	if (r < 0)
		return r;
	r = vigil_file_write_new(path, text, len, 0644);
	if (r == 0) {
		r = sync_dir(entries);
		if (r < 0)
			unlink(path);
	}
	if (r < 0 && tsr)
		unlink(tsr_path);
	return r;
}

static void drop_entry(const struct vigil_archive *a, uint64_t seq)
{
	_cleanup_free_ char *path = NULL, *tsr = NULL;

	if (vigil_archive_entry_path(a->dir, seq, ".json", &path) == 0)
		unlink(path);
	if (vigil_archive_entry_path(a->dir, seq, ".tsr", &tsr) == 0)
		unlink(tsr);
}

/**
 * vigil_archive_append() - store a record as the archive's next entry
 * @a: the archive (vigil_archive_open())
 * @rec: what to store; checked and bounded (-EINVAL when it does not fit the format)
 * @tsa: the time-stamping authority, or NULL (or @tsa->url NULL): no token
 * @ret_seq: on success, the new entry's sequence number
 * @tsa_error: on -EPROTO, why the TSA gave no usable token (NUL-terminated); may be NULL
 * @tsa_error_size: its size
 *
 * Return: 0; -EINVAL (@rec out of bounds, or an attestation's AK that does not parse when
 * its device name is to be derived from it); -EFBIG (the entry document beyond
 * VIGIL_ARCHIVE_ENTRY_MAX); -EPROTO (the TSA failed: nothing was written); -EOVERFLOW (the
 * archive is full); another negative errno from the file system; -ENOMEM.
 */
int vigil_archive_append(struct vigil_archive *a, const struct vigil_archive_record *rec,
			 const struct vigil_tsa *tsa, uint64_t *ret_seq, char *tsa_error,
			 size_t tsa_error_size)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ uint8_t *tsr = NULL;
	struct vigil_archive_doc doc = { 0 }, *d = &doc;
	char discard[8];
	uint8_t sha[32];
	size_t len = 0, tsr_len = 0;
	int r = build_doc(a, rec, d);

	if (r == 0)
		r = vigil_archive_entry_format(d, &text, &len);
	if (r == 0 && len > VIGIL_ARCHIVE_ENTRY_MAX)
		r = -EFBIG;
	if (r == 0)
		r = sha256(text, len, sha);
	if (r == 0 && tsa && tsa->url)
		r = vigil_tsa_stamp(tsa, sha, &tsr, &tsr_len, tsa_error ? tsa_error : discard,
				    tsa_error ? tsa_error_size : sizeof(discard));
	if (r == 0)
		r = store_items(a->dir, rec, d);
	if (r == 0)
		r = write_entry(a, text, len, tsr, tsr_len);
	if (r < 0)
		return r;
	r = write_head(a, a->seq + 1, sha);
	if (r < 0) {
		drop_entry(a, a->seq + 1);
		return r;
	}
	*ret_seq = a->seq;
	return 0;
}
