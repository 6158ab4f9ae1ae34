// SPDX-License-Identifier: MIT
/*
 * tpm.c: the device side of attestation, and libvigil's only ESYS user: open a TPM, create (or
 * find) the attestation key under the endorsement key, quote PCRs, read the EK and its
 * certificate, and activate an enrollment credential (enroll.c makes it on the verifier).
 *
 * The EK is the TCG EK Credential Profile's default template (ECC NIST P-256 or RSA 2048, low
 * range; the templates are in ek_template.c, shared with the verifier), created as a primary in
 * the endorsement hierarchy, so it is the key an EK certificate certifies and the same one
 * tpm2_createek makes. Its certificate is read from the profile's low-range NV index. The AK is created under it as a restricted
 * signing key with one scheme (ECDSA or RSASSA, SHA-256) and made persistent; using the EK as a
 * parent needs a policy session satisfying its PolicySecret(TPM_RH_ENDORSEMENT) policy.
 *
 * Every reply is checked against its request (after systemd's tpm2-util): created objects have
 * the template's type, attributes and parameters; a read-back name is the hash of the public
 * area; a persistent AK's qualified name proves it is a child of this TPM's EK; a quote is
 * verified with the AK's public key by the verifier's own code (quote.c), nonce, selection and
 * digest included, before anyone sees it; PCR_Read returns only what was asked.
 *
 * Invariants: every ESYS object this file creates is flushed or closed before the function
 * that made it returns (cleanup attributes); a persistent handle is never overwritten: an
 * occupied handle is reused if it holds a suitable AK, otherwise refused (-EEXIST).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tctildr.h>

#include "cleanup.h"
#include "enroll.h"
#include "tpm.h"

struct vigil_tpm {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	const char *op; /* the operation that failed last */
	TSS2_RC rc; /* its return code, 0 for a reply that did not match the request */
};

static inline void Esys_Freep(void *p)
{
	Esys_Free(*(void **)p);
}

/* An ESYS object with its context, so a cleanup can flush (transient) or close (persistent). */
struct tr {
	ESYS_CONTEXT *esys;
	ESYS_TR tr;
	bool persistent;
};

#define TR_INIT(t)                                    \
	{                                             \
		.esys = (t)->esys, .tr = ESYS_TR_NONE \
	}

static void tr_release(struct tr *h)
{
	if (h->tr == ESYS_TR_NONE)
		return;
	if (h->persistent)
		(void)Esys_TR_Close(h->esys, &h->tr);
	else
		(void)Esys_FlushContext(h->esys, h->tr);
	h->tr = ESYS_TR_NONE;
}

/* Record a TSS failure; returns -EIO so callers can "return fail(t, op, rc)". */
static int fail(struct vigil_tpm *t, const char *op, TSS2_RC rc)
{
	t->op = op;
	t->rc = rc;
	return -EIO;
}

/* Record a reply that does not match its request. */
static int mismatch(struct vigil_tpm *t, const char *op)
{
	t->op = op;
	t->rc = 0;
	return -EBADE;
}

/**
 * vigil_tpm_tcti() - the TCTI configuration to use
 * @option: the command line's choice, or NULL
 *
 * Return: @option, else $TPM2TOOLS_TCTI, else $TSS2_TCTI, else VIGIL_TCTI_DEFAULT.
 */
const char *vigil_tpm_tcti(const char *option)
{
	const char *env;

	if (option && *option)
		return option;
	env = getenv("TPM2TOOLS_TCTI");
	if (env && *env)
		return env;
	env = getenv("TSS2_TCTI");
	if (env && *env)
		return env;
	return VIGIL_TCTI_DEFAULT;
}

/**
 * vigil_tpm_open() - connect to a TPM
 * @tcti: a TCTI configuration such as "device:/dev/tpmrm0" or "swtpm:host=127.0.0.1,port=2321"
 *	(see vigil_tpm_tcti())
 * @ret: on success, the connection; release with vigil_tpm_free()
 * @ret_rc: on -EIO, the TSS2_RC of the failed step (may be NULL)
 *
 * Return: 0, -ENOMEM, or -EIO if the TCTI or ESYS could not be initialized.
 */
int vigil_tpm_open(const char *tcti, struct vigil_tpm **ret, uint32_t *ret_rc)
{
	_cleanup_(vigil_tpm_freep) struct vigil_tpm *t = NULL;
	TSS2_RC rc;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	rc = Tss2_TctiLdr_Initialize(tcti, &t->tcti);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_Initialize(&t->esys, t->tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		if (ret_rc)
			*ret_rc = rc;
		return -EIO;
	}
	*ret = TAKE_PTR(t);
	return 0;
}

/**
 * vigil_tpm_free() - close a TPM connection
 * @t: the connection, or NULL
 */
void vigil_tpm_free(struct vigil_tpm *t)
{
	if (!t)
		return;
	if (t->esys)
		Esys_Finalize(&t->esys);
	if (t->tcti)
		Tss2_TctiLdr_Finalize(&t->tcti);
	free(t);
}

/**
 * vigil_tpm_freep() - vigil_tpm_free() for _cleanup_ variables
 * @t: pointer to the variable
 */
void vigil_tpm_freep(struct vigil_tpm **t)
{
	vigil_tpm_free(*t);
}

/**
 * vigil_tpm_error() - the operation that failed last, and its TSS2_RC
 * @t: the connection
 * @ret_rc: receives the TSS2_RC (0 when a reply did not match its request)
 *
 * Return: the operation's name (e.g. "TPM2_Quote"), or "TPM" if nothing failed yet.
 */
const char *vigil_tpm_error(const struct vigil_tpm *t, uint32_t *ret_rc)
{
	*ret_rc = t->rc;
	return t->op ? t->op : "TPM";
}

static bool name_equal(const TPM2B_NAME *a, const TPM2B_NAME *b)
{
	return a->size == b->size && a->size <= sizeof(a->name) &&
	       !memcmp(a->name, b->name, a->size);
}

/* ReadPublic, checking that the name the TPM reports is the hash of the public area. */
static int read_public(struct vigil_tpm *t, ESYS_TR tr, TPM2B_PUBLIC *ret_pub,
		       /* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): ESYS's order */
		       TPM2B_NAME *ret_name, TPM2B_NAME *ret_qn)
{
	_cleanup_(Esys_Freep) TPM2B_PUBLIC *pub = NULL;
	_cleanup_(Esys_Freep) TPM2B_NAME *name = NULL;
	_cleanup_(Esys_Freep) TPM2B_NAME *qn = NULL;
	TPM2B_NAME want;
	TSS2_RC rc;

	rc = Esys_ReadPublic(t->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, &name,
			     &qn);
	if (rc != TSS2_RC_SUCCESS)
		return fail(t, "TPM2_ReadPublic", rc);
	if (vigil_ak_name(&pub->publicArea, &want) < 0 || !name_equal(&want, name))
		return mismatch(t, "TPM2_ReadPublic (name is not the public area's)");
	*ret_pub = *pub;
	*ret_name = *name;
	if (ret_qn)
		*ret_qn = *qn;
	return 0;
}

/* The EK of @alg as a transient primary, its public area (may be NULL) and qualified name. */
static int create_ek(struct vigil_tpm *t, enum vigil_ak_alg alg, struct tr *ek,
		     TPM2B_PUBLIC *ret_pub, TPM2B_NAME *ret_qn)
{
	TPM2B_PUBLIC in = { .publicArea = vigil_key_template(alg, true) }, pub;
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	_cleanup_(Esys_Freep) TPM2B_PUBLIC *out = NULL;
	TPM2B_NAME name;
	TSS2_RC rc;
	int r;

	rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				ESYS_TR_NONE, &sens, &in, &outside, &pcrs, &ek->tr, &out, NULL,
				NULL, NULL);
	if (rc != TSS2_RC_SUCCESS)
		return fail(t, "TPM2_CreatePrimary (EK)", rc);
	if (!vigil_key_template_match(&in.publicArea, &out->publicArea))
		return mismatch(t, "TPM2_CreatePrimary (EK is not the template's)");
	r = read_public(t, ek->tr, &pub, &name, ret_qn);
	if (r < 0)
		return r;
	if (ret_pub)
		*ret_pub = pub;
	return 0;
}

/* A policy session satisfying the EK's policy, PolicySecret(TPM_RH_ENDORSEMENT). */
static int ek_session(struct vigil_tpm *t, struct tr *s)
{
	const TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_NULL };
	_cleanup_(Esys_Freep) TPM2B_TIMEOUT *timeout = NULL;
	_cleanup_(Esys_Freep) TPMT_TK_AUTH *ticket = NULL;
	TSS2_RC rc;

	rc = Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256,
				   &s->tr);
	if (rc != TSS2_RC_SUCCESS)
		return fail(t, "TPM2_StartAuthSession", rc);
	rc = Esys_PolicySecret(t->esys, ESYS_TR_RH_ENDORSEMENT, s->tr, ESYS_TR_PASSWORD,
			       ESYS_TR_NONE, ESYS_TR_NONE, NULL, NULL, NULL, 0, &timeout, &ticket);
	if (rc != TSS2_RC_SUCCESS)
		return fail(t, "TPM2_PolicySecret (endorsement)", rc);
	return 0;
}

/* Create the AK under @ek and load it: @ak becomes a transient object. */
static int create_ak(struct vigil_tpm *t, enum vigil_ak_alg alg, const struct tr *ek, struct tr *ak)
{
	TPM2B_PUBLIC in = { .publicArea = vigil_key_template(alg, false) };
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	_cleanup_(Esys_Freep) TPM2B_PRIVATE *priv = NULL;
	_cleanup_(Esys_Freep) TPM2B_PUBLIC *pub = NULL;
	_cleanup_(tr_release) struct tr s1 = TR_INIT(t), s2 = TR_INIT(t);
	TSS2_RC rc;
	int r;

	r = ek_session(t, &s1);
	if (r < 0)
		return r;
	rc = Esys_Create(t->esys, ek->tr, s1.tr, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &in, &outside,
			 &pcrs, &priv, &pub, NULL, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS)
		return fail(t, "TPM2_Create (AK)", rc);
	if (!vigil_key_template_match(&in.publicArea, &pub->publicArea))
		return mismatch(t, "TPM2_Create (AK is not the template's)");
	r = ek_session(t, &s2); /* a policy session is spent by the command it authorizes */
	if (r < 0)
		return r;
	rc = Esys_Load(t->esys, ek->tr, s2.tr, ESYS_TR_NONE, ESYS_TR_NONE, priv, pub, &ak->tr);
	return rc == TSS2_RC_SUCCESS ? 0 : fail(t, "TPM2_Load (AK)", rc);
}

/* Is there an object at persistent handle @handle? */
static int handle_exists(struct vigil_tpm *t, uint32_t handle, bool *ret)
{
	_cleanup_(Esys_Freep) TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more = TPM2_NO;
	TSS2_RC rc;

	rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES,
				handle, 1, &more, &cap);
	if (rc != TSS2_RC_SUCCESS)
		return fail(t, "TPM2_GetCapability (handles)", rc);
	if (cap->capability != TPM2_CAP_HANDLES || cap->data.handles.count > 1)
		return mismatch(t, "TPM2_GetCapability (handles)");
	*ret = cap->data.handles.count == 1 && cap->data.handles.handle[0] == handle;
	return 0;
}

/* The qualified name of a child: nameAlg || H_nameAlg(parent's qualified name || child's name). */
static bool is_child(const TPM2B_NAME *parent_qn, const TPM2B_NAME *name, const TPM2B_NAME *qn)
{
	uint8_t buf[2 * sizeof(TPMU_NAME)];
	TPM2B_NAME want = { .size = qn->size };
	uint16_t alg;

	if (name->size < 2 || qn->size < 2 || parent_qn->size > sizeof(TPMU_NAME) ||
	    name->size > sizeof(TPMU_NAME))
		return false;
	alg = (uint16_t)(name->name[0] << 8 | name->name[1]);
	if (qn->size != 2 + vigil_hash_size(alg))
		return false;
	memcpy(buf, parent_qn->name, parent_qn->size);
	memcpy(buf + parent_qn->size, name->name, name->size);
	memcpy(want.name, name->name, 2);
	if (vigil_hash_digest(alg, buf, parent_qn->size + name->size, want.name + 2,
			      sizeof(want.name) - 2) < 0)
		return false;
	return name_equal(&want, qn);
}

/* The algorithm whose AK template @pub is, or VIGIL_AK_ALG_ANY if it is none of them. */
static enum vigil_ak_alg ak_alg_of(const TPMT_PUBLIC *pub)
{
	TPMT_PUBLIC ecc = vigil_key_template(VIGIL_AK_ALG_ECC, false);
	TPMT_PUBLIC rsa = vigil_key_template(VIGIL_AK_ALG_RSA, false);

	if (vigil_key_template_match(&ecc, pub))
		return VIGIL_AK_ALG_ECC;
	if (vigil_key_template_match(&rsa, pub))
		return VIGIL_AK_ALG_RSA;
	return VIGIL_AK_ALG_ANY;
}

/*
 * The AK at @handle, checked: vigil's AK template (of @alg unless ANY) and a child of this
 * TPM's EK of the same algorithm. -EEXIST if the handle holds anything else.
 */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): vigil_tpm_ak_create()'s order */
static int existing_ak(struct vigil_tpm *t, enum vigil_ak_alg alg, uint32_t handle,
		       struct vigil_tpm_ak *ret)
{
	_cleanup_(tr_release) struct tr ak = { .esys = t->esys,
					       .tr = ESYS_TR_NONE,
					       .persistent = true };
	_cleanup_(tr_release) struct tr ek = TR_INIT(t);
	TPM2B_NAME qn, ek_qn;
	enum vigil_ak_alg have;
	TSS2_RC rc;
	int r;

	rc = Esys_TR_FromTPMPublic(t->esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   &ak.tr);
	if (rc != TSS2_RC_SUCCESS)
		return fail(t, "TPM2_ReadPublic (persistent handle)", rc);
	r = read_public(t, ak.tr, &ret->public, &ret->name, &qn);
	if (r < 0)
		return r;
	have = ak_alg_of(&ret->public.publicArea);
	if (have == VIGIL_AK_ALG_ANY || (alg != VIGIL_AK_ALG_ANY && alg != have))
		return -EEXIST;
	r = create_ek(t, have, &ek, NULL, &ek_qn);
	if (r < 0)
		return r;
	if (!is_child(&ek_qn, &ret->name, &qn))
		return -EEXIST;
	ret->handle = handle;
	ret->created = false;
	return 0;
}

/* Create a new AK and persist it at @handle. */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): vigil_tpm_ak_create()'s order */
static int new_ak(struct vigil_tpm *t, enum vigil_ak_alg alg, uint32_t handle,
		  struct vigil_tpm_ak *ret)
{
	_cleanup_(tr_release) struct tr ek = TR_INIT(t), ak = TR_INIT(t);
	_cleanup_(tr_release) struct tr persisted = { .esys = t->esys,
						      .tr = ESYS_TR_NONE,
						      .persistent = true };
	TPM2B_NAME ek_qn, qn;
	TSS2_RC rc;
	int r;

	r = create_ek(t, alg, &ek, NULL, &ek_qn);
	if (r == 0)
		r = create_ak(t, alg, &ek, &ak);
	if (r < 0)
		return r;
	rc = Esys_EvictControl(t->esys, ESYS_TR_RH_OWNER, ak.tr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			       ESYS_TR_NONE, handle, &persisted.tr);
	if (rc != TSS2_RC_SUCCESS)
		return fail(t, "TPM2_EvictControl", rc);
	r = read_public(t, persisted.tr, &ret->public, &ret->name, &qn);
	if (r < 0)
		return r;
	if (!is_child(&ek_qn, &ret->name, &qn))
		return mismatch(t, "TPM2_ReadPublic (persisted AK is not the EK's child)");
	ret->handle = handle;
	ret->created = true;
	return 0;
}

/**
 * vigil_tpm_ak_create() - make sure an attestation key exists at a persistent handle
 * @t: the TPM
 * @alg: the AK's algorithm, or VIGIL_AK_ALG_ANY to accept any existing AK (ECC if new)
 * @handle: the persistent handle, 0x81000000..0x817fffff (VIGIL_AK_HANDLE_DEFAULT)
 * @ret: on success, the AK
 *
 * Idempotent: if @handle holds vigil's AK (of @alg) under this TPM's EK it is reused
 * (@ret->created false). The endorsement and owner hierarchies must have empty authorization.
 *
 * Return: 0; -EINVAL for a handle outside the owner's persistent range; -EEXIST if @handle holds
 * another key (nothing is changed); -EIO on a TPM failure, -EBADE on a reply that does not
 * match its request (vigil_tpm_error() says which).
 */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): an enum and a handle, type-checked */
int vigil_tpm_ak_create(struct vigil_tpm *t, enum vigil_ak_alg alg, uint32_t handle,
			struct vigil_tpm_ak *ret)
{
	struct vigil_tpm_ak ak = { 0 };
	bool exists = false;
	int r;

	if (handle < 0x81000000u || handle > 0x817fffffu)
		return -EINVAL;
	r = handle_exists(t, handle, &exists);
	if (r < 0)
		return r;
	if (exists)
		r = existing_ak(t, alg, handle, &ak);
	else
		r = new_ak(t, alg == VIGIL_AK_ALG_ANY ? VIGIL_AK_ALG_ECC : alg, handle, &ak);
	if (r < 0)
		return r;
	*ret = ak;
	return 0;
}

/* Is every PCR of @got also in @asked (same bank)? */
static bool selection_within(const TPML_PCR_SELECTION *got, const TPML_PCR_SELECTION *asked)
{
	if (got->count > TPM2_NUM_PCR_BANKS)
		return false;
	for (size_t i = 0; i < got->count; i++)
		for (uint32_t pcr = 0; pcr < 8u * got->pcrSelections[i].sizeofSelect; pcr++)
			if (pcr >= 8 * TPM2_PCR_SELECT_MAX ||
			    ((got->pcrSelections[i].pcrSelect[pcr / 8] >> (pcr % 8)) & 1 &&
			     !vigil_pcrsel_has(asked, got->pcrSelections[i].hash, pcr)))
				return false;
	return true;
}

/* Take the values of one PCR_Read reply, in its selection's order, and clear them in @left. */
static int take_values(const TPML_PCR_SELECTION *out, const TPML_DIGEST *d,
		       TPML_PCR_SELECTION *left, struct vigil_pcr_values *vals)
{
	size_t k = 0;

	for (size_t i = 0; i < out->count; i++) {
		const TPMS_PCR_SELECTION *s = &out->pcrSelections[i];

		for (uint32_t pcr = 0; pcr < 8u * s->sizeofSelect; pcr++) {
			if (!((s->pcrSelect[pcr / 8] >> (pcr % 8)) & 1))
				continue;
			if (k >= d->count || k >= 8 ||
			    vigil_pcr_values_add(vals, s->hash, pcr, d->digests[k].buffer,
						 d->digests[k].size) < 0)
				return -EBADE;
			k++;
			for (size_t j = 0; j < left->count; j++)
				if (left->pcrSelections[j].hash == s->hash)
					left->pcrSelections[j].pcrSelect[pcr / 8] &=
						(uint8_t) ~(1u << (pcr % 8));
		}
	}
	return k == d->count && k > 0 ? 0 : -EBADE;
}

/* PCR_Read returns at most 8 values per call: ask again for what is left until none is. */
static int read_pcrs(struct vigil_tpm *t, const TPML_PCR_SELECTION *sel,
		     struct vigil_pcr_values *vals)
{
	TPML_PCR_SELECTION left = *sel;

	vals->count = 0;
	for (size_t n = 0; n < VIGIL_PCR_VALUES_MAX && vals->count < vigil_pcrsel_count(sel); n++) {
		_cleanup_(Esys_Freep) TPML_PCR_SELECTION *out = NULL;
		_cleanup_(Esys_Freep) TPML_DIGEST *d = NULL;
		UINT32 counter;
		TSS2_RC rc;

		rc = Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &left,
				   &counter, &out, &d);
		if (rc != TSS2_RC_SUCCESS)
			return fail(t, "TPM2_PCR_Read", rc);
		if (!selection_within(out, &left) || take_values(out, d, &left, vals) < 0)
			return mismatch(t, "TPM2_PCR_Read (values are not the ones asked for)");
	}
	return vals->count == vigil_pcrsel_count(sel) ? 0 : mismatch(t, "TPM2_PCR_Read");
}

static int do_quote(struct vigil_tpm *t, ESYS_TR ak, const TPMT_SIG_SCHEME *scheme,
		    const uint8_t *nonce, size_t nonce_len, struct vigil_tpm_quote *q)
{
	TPM2B_DATA data = { .size = (UINT16)nonce_len };
	_cleanup_(Esys_Freep) TPM2B_ATTEST *attest = NULL;
	_cleanup_(Esys_Freep) TPMT_SIGNATURE *sig = NULL;
	TSS2_RC rc;

	memcpy(data.buffer, nonce, nonce_len);
	rc = Esys_Quote(t->esys, ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &data, scheme,
			&q->selection, &attest, &sig);
	if (rc != TSS2_RC_SUCCESS)
		return fail(t, "TPM2_Quote", rc);
	if (attest->size > sizeof(q->attest))
		return mismatch(t, "TPM2_Quote (attest too large)");
	memcpy(q->attest, attest->attestationData, attest->size);
	q->attest_len = attest->size;
	q->sig_len = 0;
	rc = Tss2_MU_TPMT_SIGNATURE_Marshal(sig, q->sig, sizeof(q->sig), &q->sig_len);
	return rc == TSS2_RC_SUCCESS ? 0 : mismatch(t, "TPM2_Quote (signature)");
}

/*
 * The verifier's own checks on the fresh quote: 1 good, 0 PCRs changed between quote and read
 * (try again), or an error. Only clockInfo.safe may fail: that is for the verifier to judge.
 */
static int self_check(struct vigil_tpm *t, EVP_PKEY *pkey, const uint8_t *nonce, size_t nonce_len,
		      const struct vigil_tpm_quote *q)
{
	const struct vigil_quote_input in = {
		.attest = q->attest,
		.attest_len = q->attest_len,
		.sig = q->sig,
		.sig_len = q->sig_len,
		.ak = pkey,
		.ak_public = &q->ak.public,
		.nonce = nonce,
		.nonce_len = nonce_len,
		.selection = &q->selection,
		.pcrs = &q->pcrs,
	};
	struct vigil_verdict v;
	TPMS_ATTEST a;
	bool match = false;
	int r;

	vigil_verdict_init(&v);
	r = vigil_quote_verify(&in, &v, &a);
	if (r < 0)
		return r;
	if (v.reason == VIGIL_REJECT_CLOCK_UNSAFE) {
		r = vigil_quote_check_digest(
			&a,
			q->ak.public.publicArea.parameters.asymDetail.scheme.details.anySig.hashAlg,
			&q->pcrs, &match);
		return r < 0 ? r : match;
	}
	if (v.reason == VIGIL_REJECT_PCR_DIGEST_MISMATCH)
		return 0;
	return v.reason == VIGIL_REJECT_NONE ? 1 : mismatch(t, "TPM2_Quote (does not verify)");
}

/* The AK at @handle, which must be a restricted signing key vigil can verify. */
static int load_ak(struct vigil_tpm *t, uint32_t handle, struct tr *ak, struct vigil_tpm_ak *ret)
{
	bool exists = false;
	TSS2_RC rc;
	int r;

	r = handle_exists(t, handle, &exists);
	if (r < 0)
		return r;
	if (!exists)
		return -ENOENT;
	rc = Esys_TR_FromTPMPublic(t->esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   &ak->tr);
	if (rc != TSS2_RC_SUCCESS)
		return fail(t, "TPM2_ReadPublic (AK)", rc);
	r = read_public(t, ak->tr, &ret->public, &ret->name, NULL);
	if (r < 0)
		return r;
	if (vigil_ak_public_check(&ret->public.publicArea) < 0)
		return -EKEYREJECTED;
	ret->handle = handle;
	return 0;
}

static int quote_into(struct vigil_tpm *t, uint32_t handle, const uint8_t *nonce, size_t nonce_len,
		      const TPML_PCR_SELECTION *sel, struct vigil_tpm_quote *q)
{
	_cleanup_(tr_release) struct tr ak = { .esys = t->esys,
					       .tr = ESYS_TR_NONE,
					       .persistent = true };
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
	TPMT_SIG_SCHEME scheme;
	int r;

	r = load_ak(t, handle, &ak, &q->ak);
	if (r == 0)
		r = vigil_ak_scheme(&q->ak.public.publicArea, &scheme);
	if (r == 0)
		r = vigil_ak_to_pkey(&q->ak.public.publicArea, &pkey);
	if (r < 0)
		return r;
	q->selection = *sel;
	for (int attempt = 0; attempt < 4; attempt++) {
		r = do_quote(t, ak.tr, &scheme, nonce, nonce_len, q);
		if (r == 0)
			r = read_pcrs(t, sel, &q->pcrs);
		if (r == 0)
			r = self_check(t, pkey, nonce, nonce_len, q);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	return -EAGAIN;
}

/**
 * vigil_tpm_quote() - quote PCRs with the AK and read the quoted values
 * @t: the TPM
 * @handle: the AK's persistent handle
 * @nonce: the verifier's nonce (qualifyingData)
 * @nonce_len: its length, VIGIL_NONCE_MIN..VIGIL_NONCE_MAX
 * @sel: the PCRs to quote (passed vigil_pcrsel_check())
 * @ret: on success, the quote, the AK and the PCR values; large, allocate it
 *
 * The quote uses the AK's own scheme. The PCRs are read after the quote; if a measurement
 * changed them in between (the values do not hash to the quoted digest) the quote is taken
 * again, a few times at most.
 *
 * Return: 0; -EINVAL for a bad nonce or selection; -ENOENT if @handle is empty; -EKEYREJECTED
 * if it holds no usable AK; -EAGAIN if the PCRs kept changing; -EIO / -EBADE from the TPM.
 */
int vigil_tpm_quote(struct vigil_tpm *t, uint32_t handle, const uint8_t *nonce, size_t nonce_len,
		    const TPML_PCR_SELECTION *sel, struct vigil_tpm_quote *ret)
{
	struct vigil_tpm_quote *q;
	int r;

	if (nonce_len < VIGIL_NONCE_MIN || nonce_len > VIGIL_NONCE_MAX ||
	    vigil_pcrsel_check(sel) < 0)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	r = quote_into(t, handle, nonce, nonce_len, sel, q);
	if (r == 0)
		memcpy(ret, q, sizeof(*q));
	free(q);
	return r;
}

/* The most one TPM2_NV_Read returns (TPM2_PT_NV_BUFFER_MAX), bounded by ESYS's buffer. */
static int nv_buffer_max(struct vigil_tpm *t, uint16_t *ret)
{
	_cleanup_(Esys_Freep) TPMS_CAPABILITY_DATA *cap = NULL;
	const TPMS_TAGGED_PROPERTY *p;
	TPMI_YES_NO more = TPM2_NO;
	TSS2_RC rc;

	rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				TPM2_CAP_TPM_PROPERTIES, TPM2_PT_NV_BUFFER_MAX, 1, &more, &cap);
	if (rc != TSS2_RC_SUCCESS)
		return fail(t, "TPM2_GetCapability (NV buffer)", rc);
	p = &cap->data.tpmProperties.tpmProperty[0];
	if (cap->capability != TPM2_CAP_TPM_PROPERTIES || cap->data.tpmProperties.count != 1 ||
	    p->property != TPM2_PT_NV_BUFFER_MAX || p->value == 0)
		return mismatch(t, "TPM2_GetCapability (NV buffer)");
	*ret = (uint16_t)(p->value < TPM2_MAX_NV_BUFFER_SIZE ? p->value : TPM2_MAX_NV_BUFFER_SIZE);
	return 0;
}

/* Open NV index @index and read its public area: -ENOENT if it is not defined. */
static int nv_open(struct vigil_tpm *t, uint32_t index, struct tr *nv, TPM2B_NV_PUBLIC *ret)
{
	_cleanup_(Esys_Freep) TPM2B_NV_PUBLIC *pub = NULL;
	_cleanup_(Esys_Freep) TPM2B_NAME *name = NULL;
	bool exists = false;
	TSS2_RC rc;
	int r;

	r = handle_exists(t, index, &exists);
	if (r < 0)
		return r;
	if (!exists)
		return -ENOENT;
	rc = Esys_TR_FromTPMPublic(t->esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   &nv->tr);
	if (rc != TSS2_RC_SUCCESS)
		return fail(t, "TPM2_NV_ReadPublic (EK certificate)", rc);
	rc = Esys_NV_ReadPublic(t->esys, nv->tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub,
				&name);
	if (rc != TSS2_RC_SUCCESS)
		return fail(t, "TPM2_NV_ReadPublic (EK certificate)", rc);
	if (pub->nvPublic.nvIndex != index)
		return mismatch(t, "TPM2_NV_ReadPublic (another index)");
	*ret = *pub;
	return 0;
}

/*
 * Some TPMs pad the certificate in its NV index (the index is defined larger than the DER):
 * cut the data to the length of its outer DER SEQUENCE if what follows is all 0x00 or all 0xff.
 * Anything else is left for the verifier's strict parser to reject.
 */
static size_t der_trim(const uint8_t *buf, size_t len)
{
	size_t hdr, body, total;

	if (len < 4 || buf[0] != 0x30)
		return len;
	if (buf[1] < 0x80) {
		hdr = 2;
		body = buf[1];
	} else if (buf[1] == 0x81) {
		hdr = 3;
		body = buf[2];
	} else if (buf[1] == 0x82) {
		hdr = 4;
		body = (size_t)buf[2] << 8 | buf[3];
	} else {
		return len;
	}
	total = hdr + body;
	if (total >= len)
		return len;
	for (size_t i = total + 1; i < len; i++)
		if (buf[i] != buf[total])
			return len;
	return buf[total] == 0x00 || buf[total] == 0xff ? total : len;
}

/* Read the whole of NV index @index (an EK certificate) in NV_BUFFER_MAX chunks. */
static int nv_read_all(struct vigil_tpm *t, uint32_t index, uint8_t buf[VIGIL_EK_CERT_MAX],
		       size_t *ret_len)
{
	_cleanup_(tr_release) struct tr nv = { .esys = t->esys,
					       .tr = ESYS_TR_NONE,
					       .persistent = true };
	TPM2B_NV_PUBLIC pub;
	ESYS_TR auth;
	uint16_t chunk, size;
	int r;

	r = nv_open(t, index, &nv, &pub);
	if (r == 0)
		r = nv_buffer_max(t, &chunk);
	if (r < 0)
		return r;
	size = pub.nvPublic.dataSize;
	if (size == 0 || size > VIGIL_EK_CERT_MAX)
		return -EFBIG;
	if (pub.nvPublic.attributes & TPMA_NV_AUTHREAD)
		auth = nv.tr; /* EK certificate indices are readable with their empty auth */
	else if (pub.nvPublic.attributes & TPMA_NV_OWNERREAD)
		auth = ESYS_TR_RH_OWNER;
	else
		return -EACCES;
	for (uint16_t off = 0; off < size;) {
		_cleanup_(Esys_Freep) TPM2B_MAX_NV_BUFFER *data = NULL;
		uint16_t n = (uint16_t)(size - off < chunk ? size - off : chunk);
		TSS2_RC rc;

		rc = Esys_NV_Read(t->esys, auth, nv.tr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				  ESYS_TR_NONE, n, off, &data);
		if (rc != TSS2_RC_SUCCESS)
			return fail(t, "TPM2_NV_Read (EK certificate)", rc);
		if (data->size != n)
			return mismatch(t, "TPM2_NV_Read (short read)");
		memcpy(buf + off, data->buffer, n);
		off = (uint16_t)(off + n);
	}
	*ret_len = der_trim(buf, size);
	return 0;
}

/**
 * vigil_tpm_ek_read() - the endorsement key and its certificate
 * @t: the TPM
 * @alg: VIGIL_AK_ALG_RSA or _ECC for that EK; VIGIL_AK_ALG_ANY for the ECC P-256 EK if the
 *	TPM holds its certificate, else the RSA 2048 one
 * @ret_ek: on success, the EK's public area (the TCG EK Credential Profile's low-range
 *	template L-1 / L-2, created as a transient primary in the endorsement hierarchy, as
 *	vigil_tpm_ak_create() does, and flushed again)
 * @ret_cert: on success, the DER certificate from NV index VIGIL_EK_CERT_NV_RSA / _ECC, with
 *	NV padding after the DER (all 0x00 or all 0xff) cut off; free() it
 * @ret_cert_len: its length
 *
 * The certificate is read in chunks of TPM2_PT_NV_BUFFER_MAX with the index's own (empty)
 * authorization, or the owner's if the index allows only that. Only the low-range indices are
 * read: a TPM provisioned with only a high-range (e.g. ECC P-384) certificate has none here.
 *
 * Return: 0; -ENOENT if the certificate's index is not defined; -EFBIG if it is empty or larger
 * than VIGIL_EK_CERT_MAX; -EACCES if it is not readable with owner or its own authorization;
 * -ENOMEM; -EIO / -EBADE from the TPM (vigil_tpm_error()).
 */
int vigil_tpm_ek_read(struct vigil_tpm *t, enum vigil_ak_alg alg, TPM2B_PUBLIC *ret_ek,
		      uint8_t **ret_cert, size_t *ret_cert_len)
{
	_cleanup_(tr_release) struct tr ek = TR_INIT(t);
	uint8_t buf[VIGIL_EK_CERT_MAX];
	TPM2B_PUBLIC pub;
	TPM2B_NAME qn;
	bool ecc = alg == VIGIL_AK_ALG_ECC;
	uint8_t *cert;
	size_t len = 0;
	int r;

	if (alg == VIGIL_AK_ALG_ANY) {
		r = handle_exists(t, VIGIL_EK_CERT_NV_ECC, &ecc);
		if (r < 0)
			return r;
	}
	r = nv_read_all(t, ecc ? VIGIL_EK_CERT_NV_ECC : VIGIL_EK_CERT_NV_RSA, buf, &len);
	if (r == 0)
		r = create_ek(t, ecc ? VIGIL_AK_ALG_ECC : VIGIL_AK_ALG_RSA, &ek, &pub, &qn);
	if (r < 0)
		return r;
	cert = malloc(len);
	if (!cert)
		return -ENOMEM;
	memcpy(cert, buf, len);
	*ret_ek = pub;
	*ret_cert = cert;
	*ret_cert_len = len;
	return 0;
}

/* The credential is a secret: wipe ESYS's copy before it goes back to the allocator. */
static void digest_erasep(TPM2B_DIGEST **p)
{
	if (!*p)
		return;
	OPENSSL_cleanse(*p, sizeof(**p));
	Esys_Free(*p);
}

/* Is the TPM healthy (not in failure mode)? TPM2_GetTestResult says. */
static bool tpm_healthy(struct vigil_tpm *t)
{
	_cleanup_(Esys_Freep) TPM2B_MAX_BUFFER *data = NULL;
	TPM2_RC result = TPM2_RC_FAILURE;

	return Esys_GetTestResult(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &data,
				  &result) == TSS2_RC_SUCCESS &&
	       result == TPM2_RC_SUCCESS;
}

/*
 * ActivateCredential failed: a credential made for another AK or another TPM's EK, or altered,
 * fails the TPM's integrity check (TPM_RC_INTEGRITY) or cannot be decrypted (TPM_RC_VALUE,
 * TPM_RC_SIZE, TPM_RC_ECC_POINT...): -EBADMSG, "not for this TPM". libtpms (swtpm, the vTPM of
 * VMs) reports an RSA-OAEP decryption failure as TPM_RC_FAILURE instead: that one is taken as
 * the credential's fault only if the TPM is not in failure mode. Anything else is -EIO.
 */
static int activate_fail(struct vigil_tpm *t, TSS2_RC rc)
{
	TSS2_RC base = rc & (TPM2_RC_FMT1 | 0x3f);

	(void)fail(t, "TPM2_ActivateCredential", rc);
	if (rc == TPM2_RC_FAILURE)
		return tpm_healthy(t) ? -EBADMSG : -EIO;
	if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER || !(rc & TPM2_RC_FMT1))
		return -EIO;
	switch (base) {
	case TPM2_RC_INTEGRITY:
	case TPM2_RC_VALUE:
	case TPM2_RC_SIZE:
	case TPM2_RC_ECC_POINT:
	case TPM2_RC_NO_RESULT:
	case TPM2_RC_KEY:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

/**
 * vigil_tpm_activate_credential() - recover a credential made for this TPM's EK and an AK
 * @t: the TPM
 * @ak_handle: the AK's persistent handle (vigil_tpm_ak_create()), empty authorization
 * @ek_alg: the EK the credential was made for (the one presented to the verifier, whose
 *	certificate the TPM holds): VIGIL_AK_ALG_RSA or _ECC; VIGIL_AK_ALG_ANY: the AK's algorithm
 * @blob: the credential blob (vigil_make_credential()'s @ret_blob)
 * @seed: the encrypted seed (its @ret_seed)
 * @ret_secret: on success, the credential
 * @size: the size of @ret_secret (VIGIL_CREDENTIAL_SECRET_SIZE is always enough)
 * @ret_len: on success, the credential's length
 *
 * TPM2_ActivateCredential with the AK as activateHandle (password session) and the EK of
 * @ek_alg, created as a transient primary, as keyHandle (a policy session satisfying its
 * PolicySecret(TPM_RH_ENDORSEMENT)). The TPM releases the credential only if the seed decrypts
 * with its EK and the blob's HMAC binds the AK's name: proof that the AK lives in the TPM whose
 * EK the verifier encrypted to. ESYS's copy of the credential is wiped.
 *
 * Return: 0; -EINVAL for NULL or oversized arguments; -ENOENT if @ak_handle is empty;
 * -EKEYREJECTED if it holds no usable AK; -EBADMSG if the TPM refuses the credential (made for
 * another AK or another TPM, or altered); -ENOBUFS if @size is too small; -EIO / -EBADE from
 * the TPM (vigil_tpm_error()).
 */
/* NOLINTBEGIN(bugprone-easily-swappable-parameters): the AK's handle, then the EK's algorithm */
int vigil_tpm_activate_credential(struct vigil_tpm *t, uint32_t ak_handle, enum vigil_ak_alg ek_alg,
				  const TPM2B_ID_OBJECT *blob, const TPM2B_ENCRYPTED_SECRET *seed,
				  uint8_t *ret_secret, size_t size, size_t *ret_len)
/* NOLINTEND(bugprone-easily-swappable-parameters) */
{
	_cleanup_(tr_release) struct tr ak = { .esys = t->esys,
					       .tr = ESYS_TR_NONE,
					       .persistent = true };
	_cleanup_(tr_release) struct tr ek = TR_INIT(t), s = TR_INIT(t);
	_cleanup_(digest_erasep) TPM2B_DIGEST *cred = NULL;
	struct vigil_tpm_ak info;
	TPM2B_NAME qn;
	TSS2_RC rc;
	int r;

	if (!blob || !seed || !ret_secret || !ret_len || blob->size == 0 ||
	    blob->size > sizeof(blob->credential) || seed->size == 0 ||
	    seed->size > sizeof(seed->secret))
		return -EINVAL;
	r = load_ak(t, ak_handle, &ak, &info);
	if (r == 0 && ek_alg == VIGIL_AK_ALG_ANY)
		ek_alg = info.public.publicArea.type == TPM2_ALG_RSA ? VIGIL_AK_ALG_RSA :
								       VIGIL_AK_ALG_ECC;
	if (r == 0)
		r = create_ek(t, ek_alg, &ek, NULL, &qn);
	if (r == 0)
		r = ek_session(t, &s);
	if (r < 0)
		return r;
	rc = Esys_ActivateCredential(t->esys, ak.tr, ek.tr, ESYS_TR_PASSWORD, s.tr, ESYS_TR_NONE,
				     blob, seed, &cred);
	if (rc != TSS2_RC_SUCCESS)
		return activate_fail(t, rc);
	if (cred->size == 0 || cred->size > sizeof(cred->buffer))
		return mismatch(t, "TPM2_ActivateCredential (credential size)");
	if (cred->size > size)
		return -ENOBUFS;
	memcpy(ret_secret, cred->buffer, cred->size);
	*ret_len = cred->size;
	return 0;
}
