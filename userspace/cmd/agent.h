/* SPDX-License-Identifier: MIT */
/*
 * agent.h: what the three files of `vigil agent` share: cmd_agent.c (options, the TPM side:
 * identity, activation, quote), cmd_agent_push.c (the agent calls verifierd) and
 * cmd_agent_pull.c (verifierd calls the agent).
 *
 * Invariants: the TPM is opened per operation and closed again, so the agent holds no TPM
 * connection while it waits; every message is one "vigil agent: ..." line on stderr; the
 * agent_* TPM helpers print their own failure and return a negative errno.
 */
#ifndef VIGIL_AGENT_H
#define VIGIL_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "proto.h"
#include "tpm.h"

#define AGENT_CMD "agent"
#define AGENT_TIMEOUT_MS_DEFAULT 10000u
#define AGENT_VERIFIER_NAME_DEFAULT "verifierd"
#define AGENT_HOST_MAX 256

/**
 * struct agent - one `vigil agent`: its options and the little state it keeps
 * @verifier: push mode: verifierd's "https://HOST:PORT" (no trailing '/'), or NULL
 * @listen: pull mode: "HOST:PORT" to serve on, or NULL
 * @listen_host: its host, without brackets
 * @listen_port: its port, 0 for any
 * @tls: this device's certificate and key, and the fleet CA
 * @verifier_name: pull mode: the CN verifierd's client certificate must have
 * @tcti: --tcti, or NULL
 * @log: the binary measurement log quoted with
 * @handle: the AK's persistent handle
 * @timeout_ms: deadline of one request to verifierd
 * @once: push mode: one attestation, then exit
 * @verbose: report every attestation, not only changes
 * @quotes: quotes taken since the start (numbers the attestations in messages)
 */
struct agent {
	const char *verifier;
	const char *listen;
	char listen_host[AGENT_HOST_MAX];
	uint16_t listen_port;
	struct vigil_http_tls tls;
	const char *verifier_name;
	const char *tcti;
	const char *log;
	uint32_t handle;
	uint32_t timeout_ms;
	bool once;
	bool verbose;
	uint64_t quotes;
};

void agent_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int agent_identity(const struct agent *a, char **ret_json);
int agent_activate(const struct agent *a, const struct vigil_msg_challenge *c, char **ret_json);
int agent_quote(struct agent *a, const struct vigil_msg_quote_request *req, char **ret_json);
int agent_push(struct agent *a);
int agent_pull(struct agent *a);

#endif /* VIGIL_AGENT_H */
