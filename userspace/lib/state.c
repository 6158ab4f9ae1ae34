// SPDX-License-Identifier: MIT
/*
 * state.c: the verifier's memory of the last accepted quote per AK and of the highest policy
 * version per policy name, for rollback detection.
 *
 * One small JSON file per AK in a directory the verifier owns: <dir>/<keyid>.json, keyid being
 * the hex SHA-256 of the AK's SubjectPublicKeyInfo (vigil_ak_keyid()), so evidence files and
 * tpm2-tools files quoted by one AK share one state. A verifier takes the lock (<keyid>.lock,
 * flock) before loading and keeps it until it has stored the new state, so two verifications of
 * the same AK cannot both accept quotes older than each other's. Stores are atomic (temporary
 * file + rename) and happen only after a quote was accepted.
 *
 * The same directory keeps, per policy name, the highest policy version accepted (see
 * vigil_state_policy_load()), under its own lock.
 *
 * Invariants: a state that loads was written by vigil_state_store() or is rejected (-EBADMSG);
 * a missing state is -ENOENT, never an all-zero state.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <json-c/json.h>

#include "attest.h"
#include "cleanup.h"

#define STATE_VERSION 1
#define STATE_MAX 4096

static int state_path(const char *dir, const uint8_t keyid[VIGIL_AK_KEYID_SIZE], const char *suffix,
		      char **ret)
{
	char hex[2 * VIGIL_AK_KEYID_SIZE + 1];

	vigil_hex_encode(keyid, VIGIL_AK_KEYID_SIZE, hex, sizeof(hex));
	if (asprintf(ret, "%s/%s%s", dir, hex, suffix) < 0)
		return -ENOMEM;
	return 0;
}

/* Create @path if needed and wait for its exclusive lock. */
static int lock_file(const char *path, int *ret_fd)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);

	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/**
 * vigil_state_lock() - take the exclusive lock on one AK's state
 * @dir: the state directory (must exist)
 * @keyid: the AK's key id
 * @ret_fd: on success, the lock's file descriptor; closing it releases the lock
 *
 * Blocks until the lock is free.
 *
 * Return: 0 or the negative errno of open() or flock().
 */
int vigil_state_lock(const char *dir, const uint8_t keyid[VIGIL_AK_KEYID_SIZE], int *ret_fd)
{
	_cleanup_free_ char *path = NULL;
	int r = state_path(dir, keyid, ".lock", &path);

	return r < 0 ? r : lock_file(path, ret_fd);
}

static int get_u64(struct json_object *root, const char *key, uint64_t max, uint64_t *ret)
{
	struct json_object *m = NULL;

	if (!json_object_object_get_ex(root, key, &m) || !json_object_is_type(m, json_type_int) ||
	    json_object_get_int64(m) < 0 || json_object_get_uint64(m) > max)
		return -EBADMSG;
	*ret = json_object_get_uint64(m);
	return 0;
}

/* A state file as a JSON object: -ENOENT if missing, -EBADMSG if it is not one. */
static int read_state(const char *path, struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *root = NULL;
	_cleanup_free_ uint8_t *text = NULL;
	size_t len;
	int r = vigil_file_read(path, STATE_MAX, &text, &len);

	if (r < 0)
		return r == -EFBIG ? -EBADMSG : r;
	r = vigil_json_parse((const char *)text, len, STATE_MAX, &root);
	if (r < 0)
		return r == -ENOMEM ? r : -EBADMSG;
	if (!json_object_is_type(root, json_type_object))
		return -EBADMSG;
	*ret = TAKE_PTR(root);
	return 0;
}

/**
 * vigil_state_load() - read one AK's last accepted clock
 * @dir: the state directory
 * @keyid: the AK's key id
 * @ret: on success, the state
 *
 * Return: 0; -ENOENT if no quote of this AK was accepted yet; -EBADMSG if the file is not a
 * state file; another negative errno if it cannot be read.
 */
int vigil_state_load(const char *dir, const uint8_t keyid[VIGIL_AK_KEYID_SIZE],
		     struct vigil_clock_state *ret)
{
	_cleanup_(json_object_putp) struct json_object *root = NULL;
	_cleanup_free_ char *path = NULL;
	uint64_t version, reset, restart, clock;
	int r = state_path(dir, keyid, ".json", &path);

	if (r == 0)
		r = read_state(path, &root);
	if (r < 0)
		return r;
	if (get_u64(root, "vigil_state", UINT32_MAX, &version) < 0 || version != STATE_VERSION ||
	    get_u64(root, "reset_count", UINT32_MAX, &reset) < 0 ||
	    get_u64(root, "restart_count", UINT32_MAX, &restart) < 0 ||
	    get_u64(root, "clock", INT64_MAX, &clock) < 0)
		return -EBADMSG;
	*ret = (struct vigil_clock_state){ .clock = clock,
					   .reset_count = (uint32_t)reset,
					   .restart_count = (uint32_t)restart };
	return 0;
}

/**
 * vigil_state_store() - remember one AK's newly accepted clock, atomically
 * @dir: the state directory
 * @keyid: the AK's key id
 * @st: the clock of the quote just accepted
 *
 * Return: 0 or a negative errno; on failure the previous state is unchanged.
 */
int vigil_state_store(const char *dir, const uint8_t keyid[VIGIL_AK_KEYID_SIZE],
		      const struct vigil_clock_state *st)
{
	_cleanup_free_ char *path = NULL;
	char text[256];
	int n, r = state_path(dir, keyid, ".json", &path);

	if (r < 0)
		return r;
	if (st->clock > INT64_MAX)
		return -EINVAL;
	n = snprintf(text, sizeof(text),
		     "{\"vigil_state\": %d, \"reset_count\": %" PRIu32
		     ", \"restart_count\": %" PRIu32 ", \"clock\": %" PRIu64 "}\n",
		     STATE_VERSION, st->reset_count, st->restart_count, st->clock);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -EINVAL;
	return vigil_file_write_atomic(path, text, (size_t)n, 0600);
}

/*
 * Policies: the highest version accepted per policy name, <dir>/policy-<name>.json, so a
 * verifier never goes back to an older signed policy of the same name (anti-rollback). Names
 * are [A-Za-z0-9._-] (the policy parser's rule) and carry a prefix, so no name can leave @dir.
 */
static int policy_path(const char *dir, const char *name, const char *suffix, char **ret)
{
	size_t len = strlen(name);

	if (!len || len > 128 ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789._-") != len)
		return -EINVAL;
	if (asprintf(ret, "%s/policy-%s%s", dir, name, suffix) < 0)
		return -ENOMEM;
	return 0;
}

/**
 * vigil_state_policy_lock() - take the exclusive lock on one policy name's state
 * @dir: the state directory (must exist)
 * @name: the policy's name
 * @ret_fd: on success, the lock's file descriptor; closing it releases the lock
 *
 * Return: 0, -EINVAL for a name a policy cannot have, or the negative errno of open()/flock().
 */
int vigil_state_policy_lock(const char *dir, const char *name, int *ret_fd)
{
	_cleanup_free_ char *path = NULL;
	int r = policy_path(dir, name, ".lock", &path);

	return r < 0 ? r : lock_file(path, ret_fd);
}

/**
 * vigil_state_policy_load() - the highest version of a policy accepted so far
 * @dir: the state directory
 * @name: the policy's name
 * @ret_version: on success, that version
 *
 * Return: 0; -ENOENT if no policy of this name was accepted yet; -EBADMSG if the file is not a
 * policy state file; another negative errno if it cannot be read.
 */
int vigil_state_policy_load(const char *dir, const char *name, uint64_t *ret_version)
{
	_cleanup_(json_object_putp) struct json_object *root = NULL;
	_cleanup_free_ char *path = NULL;
	uint64_t format, version;
	int r = policy_path(dir, name, ".json", &path);

	if (r == 0)
		r = read_state(path, &root);
	if (r < 0)
		return r;
	if (get_u64(root, "vigil_policy_state", UINT32_MAX, &format) < 0 ||
	    format != STATE_VERSION || get_u64(root, "version", INT64_MAX, &version) < 0)
		return -EBADMSG;
	*ret_version = version;
	return 0;
}

/**
 * vigil_state_policy_store() - remember the version of a policy just accepted, atomically
 * @dir: the state directory
 * @name: the policy's name
 * @version: its version; callers store only versions not lower than the one loaded
 *
 * Return: 0 or a negative errno; on failure the previous state is unchanged.
 */
int vigil_state_policy_store(const char *dir, const char *name, uint64_t version)
{
	_cleanup_free_ char *path = NULL;
	char text[128];
	int n, r = policy_path(dir, name, ".json", &path);

	if (r < 0)
		return r;
	if (version > INT64_MAX)
		return -EINVAL;
	n = snprintf(text, sizeof(text), "{\"vigil_policy_state\": %d, \"version\": %" PRIu64 "}\n",
		     STATE_VERSION, version);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -EINVAL;
	return vigil_file_write_atomic(path, text, (size_t)n, 0600);
}
