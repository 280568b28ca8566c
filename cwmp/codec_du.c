/*
 * cwmp/codec_du.c - software module management on the wire (TR-069 A.4.1.10
 * ChangeDUState, A.4.2.3 DUStateChangeComplete) to and from cwmp_msg. The
 * Body dispatch tables stay in codec_decode.c and codec_encode.c; only the
 * per-RPC readers and writer live here. What an operation does to the
 * data model is not here.
 */
#include "cwmp/codec_priv.h"

/* Annex A's Unknown Time, for a result with no start or completion time */

static void rd_install(struct conv *c, const struct cwmp__InstallOpStruct *i, cwmp_du_op *d)
{
	d->op = CWMP_DU_INSTALL;
	d->url = cwmp_conv_str(c, i->URL);
	d->uuid = cwmp_conv_str(c, i->UUID);
	d->username = cwmp_conv_str(c, i->Username);
	d->password = cwmp_conv_str(c, i->Password);
	d->execution_env_ref = cwmp_conv_str(c, i->ExecutionEnvRef);
}

static void rd_update(struct conv *c, const struct cwmp__UpdateOpStruct *u, cwmp_du_op *d)
{
	d->op = CWMP_DU_UPDATE;
	d->uuid = cwmp_conv_str(c, u->UUID);
	d->version = cwmp_conv_str(c, u->Version);
	d->url = cwmp_conv_str(c, u->URL);
	d->username = cwmp_conv_str(c, u->Username);
	d->password = cwmp_conv_str(c, u->Password);
}

static void rd_uninstall(struct conv *c, const struct cwmp__UninstallOpStruct *u, cwmp_du_op *d)
{
	d->op = CWMP_DU_UNINSTALL;
	d->uuid = cwmp_conv_str(c, u->UUID);
	d->version = cwmp_conv_str(c, u->Version);
	d->execution_env_ref = cwmp_conv_str(c, u->ExecutionEnvRef);
}

/* OperationStruct is abstract: gSOAP fills the one derived pointer the
 * xsi:type named. None (no or a foreign xsi:type) or a derived struct
 * without its required element is malformed (9003). */
static int rd_op(struct conv *c, const struct cwmp__OperationStruct *o, cwmp_du_op *d)
{
	if (o->cwmp__InstallOpStruct && o->cwmp__InstallOpStruct->URL)
		rd_install(c, o->cwmp__InstallOpStruct, d);
	else if (o->cwmp__UpdateOpStruct)
		rd_update(c, o->cwmp__UpdateOpStruct, d);
	else if (o->cwmp__UninstallOpStruct && o->cwmp__UninstallOpStruct->UUID)
		rd_uninstall(c, o->cwmp__UninstallOpStruct, d);
	else
		return -2;
	return 0;
}

int cwmp_codec_rd_change_du_state(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct _cwmp__ChangeDUState *s = p;
	int i, rc;

	if (s->__sizeOperations < 1 || !s->Operations)
		return -2;
	m->u.du_ops.command_key = cwmp_conv_str(c, s->CommandKey);
	m->u.du_ops.v = cwmp_conv_alloc(c, (size_t)s->__sizeOperations * sizeof *m->u.du_ops.v);
	if (!m->u.du_ops.v)
		return -1;
	for (i = 0; i < s->__sizeOperations; i++) {
		rc = rd_op(c, &s->Operations[i], &m->u.du_ops.v[i]);
		if (rc)
			return rc;
	}
	m->u.du_ops.n = (size_t)s->__sizeOperations;
	return 0;
}

int cwmp_codec_rd_du_state_change_complete(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct _cwmp__DUStateChangeComplete *s = p;
	int i;

	if (s->__sizeResults < 1 || !s->Results)
		return -2;
	m->u.du_results.command_key = cwmp_conv_str(c, s->CommandKey);
	m->u.du_results.v = cwmp_conv_alloc(c, (size_t)s->__sizeResults * sizeof *m->u.du_results.v);
	if (!m->u.du_results.v)
		return -1;
	for (i = 0; i < s->__sizeResults; i++) {
		const struct cwmp__OpResultStruct *r = &s->Results[i];
		cwmp_du_result *d = &m->u.du_results.v[i];

		d->uuid = cwmp_conv_str(c, cwmp_codec_or_empty(r->UUID));
		d->deployment_unit_ref = cwmp_conv_str(c, cwmp_codec_or_empty(r->DeploymentUnitRef));
		d->version = cwmp_conv_str(c, cwmp_codec_or_empty(r->Version));
		d->current_state = cwmp_conv_str(c, cwmp_codec_or_empty(r->CurrentState));
		d->resolved = r->Resolved == xsd__boolean__true_;
		d->execution_unit_ref_list = cwmp_conv_str(c, cwmp_codec_or_empty(r->ExecutionUnitRefList));
		d->start_time = cwmp_conv_str(c, r->StartTime);
		d->complete_time = cwmp_conv_str(c, r->CompleteTime);
		if (r->Fault) {
			d->fault_code = r->Fault->FaultCode;
			d->fault_string = cwmp_conv_str(c, cwmp_codec_or_empty(r->Fault->FaultString));
		}
	}
	m->u.du_results.n = (size_t)s->__sizeResults;
	return 0;
}

static int wr_result(struct soap *soap, const cwmp_du_result *s, struct cwmp__OpResultStruct *r)
{
	/* Fault is required even on success: FaultCode 0 (A.4.2.3) */
	struct cwmp__DeploymentUnitFaultStruct *f = soap_new_cwmp__DeploymentUnitFaultStruct(soap, 1);

	if (!f)
		return -1;
	r->UUID = cwmp_codec_or_empty(s->uuid);
	r->DeploymentUnitRef = cwmp_codec_or_empty(s->deployment_unit_ref);
	r->Version = cwmp_codec_or_empty(s->version);
	r->CurrentState = cwmp_codec_or_empty(s->current_state);
	r->Resolved = s->resolved ? xsd__boolean__true_ : xsd__boolean__false_;
	r->ExecutionUnitRefList = cwmp_codec_or_empty(s->execution_unit_ref_list);
	r->StartTime = (char *)(s->start_time ? s->start_time : CWMP_UNKNOWN_TIME);
	r->CompleteTime = (char *)(s->complete_time ? s->complete_time : CWMP_UNKNOWN_TIME);
	f->FaultCode = s->fault_code;
	f->FaultString = cwmp_codec_or_empty(s->fault_string);
	r->Fault = f;
	return 0;
}

void *cwmp_codec_wr_du_state_change_complete(struct soap *soap, const cwmp_msg *m)
{
	struct _cwmp__DUStateChangeComplete *d = soap_new__cwmp__DUStateChangeComplete(soap, 1);
	size_t i, n = m->u.du_results.n;

	/* the schema wants at least one Results element */
	if (!d || !n)
		return NULL;
	d->Results = soap_new_cwmp__OpResultStruct(soap, (int)n);
	if (!d->Results)
		return NULL;
	for (i = 0; i < n; i++)
		if (wr_result(soap, &m->u.du_results.v[i], &d->Results[i]))
			return NULL;
	d->__sizeResults = (int)n;
	d->CommandKey = m->u.du_results.command_key;
	return d;
}

/* AutonOpResultStruct is OpResultStruct and OperationPerformed (A.3.3.4),
 * a struct of its own in the generated code. */
static int wr_auton_result(struct soap *soap, const cwmp_du_result *s, struct cwmp__AutonOpResultStruct *r)
{
	struct cwmp__OpResultStruct b;

	if (wr_result(soap, s, &b))
		return -1;
	r->UUID = b.UUID;
	r->DeploymentUnitRef = b.DeploymentUnitRef;
	r->Version = b.Version;
	r->CurrentState = b.CurrentState;
	r->Resolved = b.Resolved;
	r->ExecutionUnitRefList = b.ExecutionUnitRefList;
	r->StartTime = b.StartTime;
	r->CompleteTime = b.CompleteTime;
	r->Fault = b.Fault;
	r->OperationPerformed = cwmp_codec_or_empty(s->operation_performed);
	return 0;
}

void *cwmp_codec_wr_autonomous_du_state_change_complete(struct soap *soap, const cwmp_msg *m)
{
	struct _cwmp__AutonomousDUStateChangeComplete *d = soap_new__cwmp__AutonomousDUStateChangeComplete(soap, 1);
	size_t i, n = m->u.du_results.n;

	if (!d || !n)
		return NULL;
	d->Results = soap_new_cwmp__AutonOpResultStruct(soap, (int)n);
	if (!d->Results)
		return NULL;
	for (i = 0; i < n; i++)
		if (wr_auton_result(soap, &m->u.du_results.v[i], &d->Results[i]))
			return NULL;
	d->__sizeResults = (int)n;
	return d;
}
