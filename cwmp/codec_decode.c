/*
 * cwmp/codec_decode.c - one envelope from the ACS (or a CPE message read
 * back in tests) into a cwmp_msg. Everything the generated readers produce
 * is copied into storage owned by the message, so the gSOAP context never
 * outlives a call. Writing is in codec_encode.c.
 */
#include "cwmp/codec_priv.h"

#include <stdlib.h>
#include <string.h>

/* ---- storage of decoded messages: one chain freed at once ---- */

struct block {
	struct block *next;
	max_align_t data[];
};

void *cwmp_conv_alloc(struct conv *c, size_t size)
{
	struct block *b;

	if (c->failed)
		return NULL;
	b = calloc(1, sizeof *b + (size ? size : 1));
	if (!b) {
		c->failed = 1;
		return NULL;
	}
	b->next = *c->chain;
	*c->chain = b;
	return b->data;
}

char *cwmp_conv_str(struct conv *c, const char *s)
{
	char *d;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	d = cwmp_conv_alloc(c, n);
	if (d)
		memcpy(d, s, n);
	return d;
}

/* ---- generated structures -> cwmp_msg ---- */

static int cp_values(struct conv *c, const struct ParameterValueList *l, cwmp_param_value **v,
		     size_t *n)
{
	int i;

	*n = 0;
	*v = NULL;
	if (!l || l->__size <= 0)
		return 0;
	*v = cwmp_conv_alloc(c, (size_t)l->__size * sizeof **v);
	if (!*v)
		return -1;
	for (i = 0; i < l->__size; i++) {
		const struct cwmp__ParameterValueStruct *p = l->__ptrParameterValueStruct[i];

		if (!p || !p->Name)
			return -2;
		(*v)[i].name = cwmp_conv_str(c, p->Name);
		(*v)[i].value = cwmp_conv_str(c, p->Value.__item ? p->Value.__item : "");
		(*v)[i].type = cwmp_codec_type_from_wire(p->Value.xsi__type);
	}
	*n = (size_t)l->__size;
	return 0;
}

static int cp_strings(struct conv *c, char **src, int size, cwmp_strings *dst)
{
	int i;

	dst->n = 0;
	dst->v = NULL;
	if (size <= 0)
		return 0;
	dst->v = cwmp_conv_alloc(c, (size_t)size * sizeof *dst->v);
	if (!dst->v)
		return -1;
	for (i = 0; i < size; i++) {
		if (!src[i])
			return -2;
		dst->v[i] = cwmp_conv_str(c, src[i]);
	}
	dst->n = (size_t)size;
	return 0;
}

static int rd_none(struct conv *c, const void *p, cwmp_msg *m)
{
	return 0;
}

static int rd_gpv(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct _cwmp__GetParameterValues *g = p;

	if (!g->ParameterNames)
		return -2;
	return cp_strings(c, g->ParameterNames->__ptrstring, g->ParameterNames->__size,
			  &m->u.names);
}

static int rd_gpn(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct _cwmp__GetParameterNames *g = p;

	m->u.gpn.path = cwmp_conv_str(c, g->ParameterPath ? g->ParameterPath : "");
	m->u.gpn.next_level = g->NextLevel == xsd__boolean__true_;
	return 0;
}

static int rd_spv(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct _cwmp__SetParameterValues *s = p;

	if (!s->ParameterList)
		return -2;
	m->u.spv.parameter_key = cwmp_conv_str(c, s->ParameterKey ? s->ParameterKey : "");
	return cp_values(c, s->ParameterList, &m->u.spv.v, &m->u.spv.n);
}

static int rd_add(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct _cwmp__AddObject *a = p;

	if (!a->ObjectName)
		return -2;
	m->u.object.object_name = cwmp_conv_str(c, a->ObjectName);
	m->u.object.parameter_key = cwmp_conv_str(c, a->ParameterKey ? a->ParameterKey : "");
	return 0;
}

static int rd_del(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct _cwmp__DeleteObject *d = p;

	if (!d->ObjectName)
		return -2;
	m->u.object.object_name = cwmp_conv_str(c, d->ObjectName);
	m->u.object.parameter_key = cwmp_conv_str(c, d->ParameterKey ? d->ParameterKey : "");
	return 0;
}

static int rd_reboot(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct _cwmp__Reboot *r = p;

	m->u.command_key = cwmp_conv_str(c, r->CommandKey ? r->CommandKey : "");
	return 0;
}

static int rd_gpa(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct _cwmp__GetParameterAttributes *g = p;

	if (!g->ParameterNames)
		return -2;
	return cp_strings(c, g->ParameterNames->__ptrstring, g->ParameterNames->__size,
			  &m->u.names);
}

static int cp_access(struct conv *c, const struct AccessList *l, cwmp_strings *dst)
{
	if (!l)
		return 0;
	return cp_strings(c, l->__ptrstring, l->__size, dst);
}

static int rd_spa(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct SetParameterAttributesList *l = ((const struct _cwmp__SetParameterAttributes *)p)->ParameterList;
	int i, rc;

	if (!l)
		return -2;
	if (l->__size <= 0)
		return 0;
	m->u.spa.v = cwmp_conv_alloc(c, (size_t)l->__size * sizeof *m->u.spa.v);
	if (!m->u.spa.v)
		return -1;
	for (i = 0; i < l->__size; i++) {
		const struct cwmp__SetParameterAttributesStruct *e = l->__ptrSetParameterAttributesStruct[i];

		if (!e || !e->Name)
			return -2;
		m->u.spa.v[i].name = cwmp_conv_str(c, e->Name);
		m->u.spa.v[i].notification_change = e->NotificationChange == xsd__boolean__true_;
		m->u.spa.v[i].notification = e->Notification;
		m->u.spa.v[i].access_list_change = e->AccessListChange == xsd__boolean__true_;
		rc = cp_access(c, e->AccessList, &m->u.spa.v[i].access_list);
		if (rc)
			return rc;
	}
	m->u.spa.n = (size_t)l->__size;
	return 0;
}

static int rd_gpa_resp(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct ParameterAttributeList *l = ((const struct _cwmp__GetParameterAttributesResponse *)p)->ParameterList;
	int i, rc;

	if (!l || l->__size <= 0)
		return 0;
	m->u.attrs.v = cwmp_conv_alloc(c, (size_t)l->__size * sizeof *m->u.attrs.v);
	if (!m->u.attrs.v)
		return -1;
	for (i = 0; i < l->__size; i++) {
		const struct cwmp__ParameterAttributeStruct *a = l->__ptrParameterAttributeStruct[i];

		if (!a || !a->Name)
			return -2;
		m->u.attrs.v[i].name = cwmp_conv_str(c, a->Name);
		m->u.attrs.v[i].notification = a->Notification;
		rc = cp_access(c, a->AccessList, &m->u.attrs.v[i].access_list);
		if (rc)
			return rc;
	}
	m->u.attrs.n = (size_t)l->__size;
	return 0;
}

static int rd_download(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct _cwmp__Download *d = p;

	if (!d->URL || !d->FileType)
		return -2;
	m->u.transfer.command_key = cwmp_conv_str(c, cwmp_codec_or_empty(d->CommandKey));
	m->u.transfer.file_type = cwmp_conv_str(c, d->FileType);
	m->u.transfer.url = cwmp_conv_str(c, d->URL);
	m->u.transfer.username = cwmp_conv_str(c, cwmp_codec_or_empty(d->Username));
	m->u.transfer.password = cwmp_conv_str(c, cwmp_codec_or_empty(d->Password));
	m->u.transfer.file_size = d->FileSize;
	m->u.transfer.target_file_name = cwmp_conv_str(c, cwmp_codec_or_empty(d->TargetFileName));
	m->u.transfer.delay_seconds = d->DelaySeconds;
	m->u.transfer.success_url = cwmp_conv_str(c, cwmp_codec_or_empty(d->SuccessURL));
	m->u.transfer.failure_url = cwmp_conv_str(c, cwmp_codec_or_empty(d->FailureURL));
	return 0;
}

static int rd_upload(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct _cwmp__Upload *u = p;

	if (!u->URL || !u->FileType)
		return -2;
	m->u.transfer.command_key = cwmp_conv_str(c, cwmp_codec_or_empty(u->CommandKey));
	m->u.transfer.file_type = cwmp_conv_str(c, u->FileType);
	m->u.transfer.url = cwmp_conv_str(c, u->URL);
	m->u.transfer.username = cwmp_conv_str(c, cwmp_codec_or_empty(u->Username));
	m->u.transfer.password = cwmp_conv_str(c, cwmp_codec_or_empty(u->Password));
	m->u.transfer.delay_seconds = u->DelaySeconds;
	return 0;
}

/* A.4.1.8: a ScheduleDownload names one or two time windows. */
#define MAX_TIME_WINDOWS 2

static int rd_sched_dl(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct _cwmp__ScheduleDownload *d = p;
	const struct TimeWindowList *l = d->TimeWindowList;
	int i;

	if (!d->URL || !d->FileType || !l || l->__size < 1 || l->__size > MAX_TIME_WINDOWS)
		return -2;
	m->u.transfer.command_key = cwmp_conv_str(c, cwmp_codec_or_empty(d->CommandKey));
	m->u.transfer.file_type = cwmp_conv_str(c, d->FileType);
	m->u.transfer.url = cwmp_conv_str(c, d->URL);
	m->u.transfer.username = cwmp_conv_str(c, cwmp_codec_or_empty(d->Username));
	m->u.transfer.password = cwmp_conv_str(c, cwmp_codec_or_empty(d->Password));
	m->u.transfer.file_size = d->FileSize;
	m->u.transfer.target_file_name = cwmp_conv_str(c, cwmp_codec_or_empty(d->TargetFileName));
	m->u.transfer.windows = cwmp_conv_alloc(c, (size_t)l->__size * sizeof *m->u.transfer.windows);
	if (!m->u.transfer.windows)
		return -1;
	for (i = 0; i < l->__size; i++) {
		const struct cwmp__TimeWindowStruct *w = l->__ptrTimeWindowStruct[i];
		cwmp_time_window *t = &m->u.transfer.windows[i];

		if (!w || !w->WindowMode)
			return -2;
		t->start = w->WindowStart;
		t->end = w->WindowEnd;
		t->mode = cwmp_conv_str(c, w->WindowMode);
		t->user_message = cwmp_conv_str(c, cwmp_codec_or_empty(w->UserMessage));
		t->max_retries = w->MaxRetries;
	}
	m->u.transfer.n_windows = (size_t)l->__size;
	return 0;
}

static int rd_cancel(struct conv *c, const void *p, cwmp_msg *m)
{
	m->u.command_key = cwmp_conv_str(c, cwmp_codec_or_empty(((const struct _cwmp__CancelTransfer *)p)->CommandKey));
	return 0;
}

static int rd_dl_resp(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct _cwmp__DownloadResponse *r = p;

	m->u.transfer_response.status = r->Status;
	m->u.transfer_response.start_time = cwmp_conv_str(c, r->StartTime);
	m->u.transfer_response.complete_time = cwmp_conv_str(c, r->CompleteTime);
	return 0;
}

static int rd_ul_resp(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct _cwmp__UploadResponse *r = p;

	m->u.transfer_response.status = r->Status;
	m->u.transfer_response.start_time = cwmp_conv_str(c, r->StartTime);
	m->u.transfer_response.complete_time = cwmp_conv_str(c, r->CompleteTime);
	return 0;
}

static int rd_sched(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct _cwmp__ScheduleInform *s = p;

	m->u.schedule_inform.delay_seconds = s->DelaySeconds;
	m->u.schedule_inform.command_key = cwmp_conv_str(c, s->CommandKey ? s->CommandKey : "");
	return 0;
}

static int rd_inform_resp(struct conv *c, const void *p, cwmp_msg *m)
{
	m->u.max_envelopes = ((const struct _cwmp__InformResponse *)p)->MaxEnvelopes;
	return 0;
}

static int rd_grm_resp(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct _cwmp__GetRPCMethodsResponse *r = p;

	if (!r->MethodList)
		return 0;
	return cp_strings(c, r->MethodList->__ptrstring, r->MethodList->__size, &m->u.names);
}

static int rd_gpv_resp(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct _cwmp__GetParameterValuesResponse *r = p;

	return cp_values(c, r->ParameterList, &m->u.values.v, &m->u.values.n);
}

static int rd_gpn_resp(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct ParameterInfoList *l = ((const struct _cwmp__GetParameterNamesResponse *)p)->ParameterList;
	int i;

	if (!l || l->__size <= 0)
		return 0;
	m->u.infos.v = cwmp_conv_alloc(c, (size_t)l->__size * sizeof *m->u.infos.v);
	if (!m->u.infos.v)
		return -1;
	for (i = 0; i < l->__size; i++) {
		if (!l->__ptrParameterInfoStruct[i])
			return -2;
		m->u.infos.v[i].name = cwmp_conv_str(c, l->__ptrParameterInfoStruct[i]->Name);
		m->u.infos.v[i].writable =
			l->__ptrParameterInfoStruct[i]->Writable == xsd__boolean__true_;
	}
	m->u.infos.n = (size_t)l->__size;
	return 0;
}

static int rd_spv_resp(struct conv *c, const void *p, cwmp_msg *m)
{
	m->u.status = ((const struct _cwmp__SetParameterValuesResponse *)p)->Status;
	return 0;
}

static int rd_del_resp(struct conv *c, const void *p, cwmp_msg *m)
{
	m->u.status = ((const struct _cwmp__DeleteObjectResponse *)p)->Status;
	return 0;
}

static int rd_add_resp(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct _cwmp__AddObjectResponse *a = p;

	m->u.add_object.instance = a->InstanceNumber;
	m->u.add_object.status = a->Status;
	return 0;
}

static int rd_inform(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct _cwmp__Inform *in = p;
	int i;

	if (!in->DeviceId || !in->Event)
		return -2;
	m->u.inform.manufacturer = cwmp_conv_str(c, in->DeviceId->Manufacturer);
	m->u.inform.oui = cwmp_conv_str(c, in->DeviceId->OUI);
	m->u.inform.product_class = cwmp_conv_str(c, in->DeviceId->ProductClass);
	m->u.inform.serial_number = cwmp_conv_str(c, in->DeviceId->SerialNumber);
	m->u.inform.max_envelopes = in->MaxEnvelopes;
	m->u.inform.current_time = cwmp_conv_str(c, in->CurrentTime);
	m->u.inform.retry_count = in->RetryCount;
	if (in->Event->__size > 0) {
		m->u.inform.events = cwmp_conv_alloc(c, (size_t)in->Event->__size * sizeof(cwmp_event));
		if (!m->u.inform.events)
			return -1;
		for (i = 0; i < in->Event->__size; i++) {
			const struct cwmp__EventStruct *e = in->Event->__ptrEventStruct[i];

			if (!e)
				return -2;
			m->u.inform.events[i].code = cwmp_conv_str(c, e->EventCode);
			m->u.inform.events[i].command_key = cwmp_conv_str(c, e->CommandKey);
		}
		m->u.inform.n_events = (size_t)in->Event->__size;
	}
	return cp_values(c, in->ParameterList, &m->u.inform.params, &m->u.inform.n_params);
}

static int rd_tc(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct _cwmp__TransferComplete *t = p;

	m->u.transfer_complete.command_key = cwmp_conv_str(c, t->CommandKey);
	if (t->FaultStruct) {
		m->u.transfer_complete.fault_code = t->FaultStruct->FaultCode;
		m->u.transfer_complete.fault_string = cwmp_conv_str(c, t->FaultStruct->FaultString);
	}
	m->u.transfer_complete.start_time = cwmp_conv_str(c, t->StartTime);
	m->u.transfer_complete.complete_time = cwmp_conv_str(c, t->CompleteTime);
	return 0;
}

static int cp_queued(struct conv *c, cwmp_queued_transfer *q, const char *key, int state)
{
	if (!key)
		return -2;
	q->command_key = cwmp_conv_str(c, key);
	q->state = state;
	return 0;
}

static int rd_gqt_resp(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct TransferList *l = ((const struct _cwmp__GetQueuedTransfersResponse *)p)->TransferList;
	int i;

	if (!l)
		return -2;
	if (l->__size <= 0)
		return 0;
	m->u.queued.v = cwmp_conv_alloc(c, (size_t)l->__size * sizeof *m->u.queued.v);
	if (!m->u.queued.v)
		return -1;
	for (i = 0; i < l->__size; i++) {
		const struct cwmp__QueuedTransferStruct *q = l->__ptrQueuedTransferStruct[i];

		if (!q || cp_queued(c, &m->u.queued.v[i], q->CommandKey, q->State))
			return -2;
	}
	m->u.queued.n = (size_t)l->__size;
	return 0;
}

static int rd_gaqt_resp(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct AllTransferList *l = ((const struct _cwmp__GetAllQueuedTransfersResponse *)p)->TransferList;
	int i;

	if (!l)
		return -2;
	if (l->__size <= 0)
		return 0;
	m->u.queued.v = cwmp_conv_alloc(c, (size_t)l->__size * sizeof *m->u.queued.v);
	if (!m->u.queued.v)
		return -1;
	for (i = 0; i < l->__size; i++) {
		const struct cwmp__AllQueuedTransferStruct *q = l->__ptrAllQueuedTransferStruct[i];
		cwmp_queued_transfer *d = &m->u.queued.v[i];

		if (!q || !q->FileType || cp_queued(c, d, q->CommandKey, q->State))
			return -2;
		d->is_download = q->IsDownload == xsd__boolean__true_;
		d->file_type = cwmp_conv_str(c, q->FileType);
		d->file_size = q->FileSize;
		d->target_file_name = cwmp_conv_str(c, cwmp_codec_or_empty(q->TargetFileName));
	}
	m->u.queued.n = (size_t)l->__size;
	return 0;
}

static int rd_atc(struct conv *c, const void *p, cwmp_msg *m)
{
	const struct _cwmp__AutonomousTransferComplete *t = p;

	if (!t->FileType)
		return -2;
	m->u.transfer_complete.announce_url = cwmp_conv_str(c, cwmp_codec_or_empty(t->AnnounceURL));
	m->u.transfer_complete.transfer_url = cwmp_conv_str(c, cwmp_codec_or_empty(t->TransferURL));
	m->u.transfer_complete.is_download = t->IsDownload == xsd__boolean__true_;
	m->u.transfer_complete.file_type = cwmp_conv_str(c, t->FileType);
	m->u.transfer_complete.file_size = t->FileSize;
	m->u.transfer_complete.target_file_name = cwmp_conv_str(c, cwmp_codec_or_empty(t->TargetFileName));
	if (t->FaultStruct) {
		m->u.transfer_complete.fault_code = t->FaultStruct->FaultCode;
		m->u.transfer_complete.fault_string = cwmp_conv_str(c, t->FaultStruct->FaultString);
	}
	m->u.transfer_complete.start_time = cwmp_conv_str(c, t->StartTime);
	m->u.transfer_complete.complete_time = cwmp_conv_str(c, t->CompleteTime);
	return 0;
}

/* Body elements we read: generated type id -> our kind. Anything else in
 * a Body is a method we do not support (fault 9000). */
static const struct reader {
	int type;
	cwmp_msg_kind kind;
	int (*read)(struct conv *, const void *, cwmp_msg *);
} readers[] = {
	{SOAP_TYPE__cwmp__GetRPCMethods, CWMP_MSG_GET_RPC_METHODS, rd_none},
	{SOAP_TYPE__cwmp__GetParameterValues, CWMP_MSG_GET_PARAMETER_VALUES, rd_gpv},
	{SOAP_TYPE__cwmp__GetParameterNames, CWMP_MSG_GET_PARAMETER_NAMES, rd_gpn},
	{SOAP_TYPE__cwmp__SetParameterValues, CWMP_MSG_SET_PARAMETER_VALUES, rd_spv},
	{SOAP_TYPE__cwmp__AddObject, CWMP_MSG_ADD_OBJECT, rd_add},
	{SOAP_TYPE__cwmp__DeleteObject, CWMP_MSG_DELETE_OBJECT, rd_del},
	{SOAP_TYPE__cwmp__Reboot, CWMP_MSG_REBOOT, rd_reboot},
	{SOAP_TYPE__cwmp__FactoryReset, CWMP_MSG_FACTORY_RESET, rd_none},
	{SOAP_TYPE__cwmp__ScheduleInform, CWMP_MSG_SCHEDULE_INFORM, rd_sched},
	{SOAP_TYPE__cwmp__GetParameterAttributes, CWMP_MSG_GET_PARAMETER_ATTRIBUTES, rd_gpa},
	{SOAP_TYPE__cwmp__SetParameterAttributes, CWMP_MSG_SET_PARAMETER_ATTRIBUTES, rd_spa},
	{SOAP_TYPE__cwmp__Download, CWMP_MSG_DOWNLOAD, rd_download},
	{SOAP_TYPE__cwmp__Upload, CWMP_MSG_UPLOAD, rd_upload},
	{SOAP_TYPE__cwmp__CancelTransfer, CWMP_MSG_CANCEL_TRANSFER, rd_cancel},
	{SOAP_TYPE__cwmp__GetQueuedTransfers, CWMP_MSG_GET_QUEUED_TRANSFERS, rd_none},
	{SOAP_TYPE__cwmp__GetAllQueuedTransfers, CWMP_MSG_GET_ALL_QUEUED_TRANSFERS, rd_none},
	{SOAP_TYPE__cwmp__ScheduleDownload, CWMP_MSG_SCHEDULE_DOWNLOAD, rd_sched_dl},
	{SOAP_TYPE__cwmp__ChangeDUState, CWMP_MSG_CHANGE_DU_STATE, cwmp_codec_rd_change_du_state},
	{SOAP_TYPE__cwmp__InformResponse, CWMP_MSG_INFORM_RESPONSE, rd_inform_resp},
	{SOAP_TYPE__cwmp__TransferCompleteResponse, CWMP_MSG_TRANSFER_COMPLETE_RESPONSE, rd_none},
	{SOAP_TYPE__cwmp__AutonomousTransferCompleteResponse,
	 CWMP_MSG_AUTONOMOUS_TRANSFER_COMPLETE_RESPONSE, rd_none},
	{SOAP_TYPE__cwmp__DUStateChangeCompleteResponse, CWMP_MSG_DU_STATE_CHANGE_COMPLETE_RESPONSE,
	 rd_none},
	{SOAP_TYPE__cwmp__AutonomousDUStateChangeCompleteResponse,
	 CWMP_MSG_AUTONOMOUS_DU_STATE_CHANGE_COMPLETE_RESPONSE, rd_none},
	{SOAP_TYPE__cwmp__GetRPCMethodsResponse, CWMP_MSG_GET_RPC_METHODS_RESPONSE, rd_grm_resp},
	{SOAP_TYPE__cwmp__GetParameterValuesResponse, CWMP_MSG_GET_PARAMETER_VALUES_RESPONSE, rd_gpv_resp},
	{SOAP_TYPE__cwmp__GetParameterNamesResponse, CWMP_MSG_GET_PARAMETER_NAMES_RESPONSE, rd_gpn_resp},
	{SOAP_TYPE__cwmp__SetParameterValuesResponse, CWMP_MSG_SET_PARAMETER_VALUES_RESPONSE, rd_spv_resp},
	{SOAP_TYPE__cwmp__AddObjectResponse, CWMP_MSG_ADD_OBJECT_RESPONSE, rd_add_resp},
	{SOAP_TYPE__cwmp__DeleteObjectResponse, CWMP_MSG_DELETE_OBJECT_RESPONSE, rd_del_resp},
	{SOAP_TYPE__cwmp__RebootResponse, CWMP_MSG_REBOOT_RESPONSE, rd_none},
	{SOAP_TYPE__cwmp__FactoryResetResponse, CWMP_MSG_FACTORY_RESET_RESPONSE, rd_none},
	{SOAP_TYPE__cwmp__ScheduleInformResponse, CWMP_MSG_SCHEDULE_INFORM_RESPONSE, rd_none},
	{SOAP_TYPE__cwmp__GetParameterAttributesResponse, CWMP_MSG_GET_PARAMETER_ATTRIBUTES_RESPONSE, rd_gpa_resp},
	{SOAP_TYPE__cwmp__SetParameterAttributesResponse, CWMP_MSG_SET_PARAMETER_ATTRIBUTES_RESPONSE, rd_none},
	{SOAP_TYPE__cwmp__DownloadResponse, CWMP_MSG_DOWNLOAD_RESPONSE, rd_dl_resp},
	{SOAP_TYPE__cwmp__UploadResponse, CWMP_MSG_UPLOAD_RESPONSE, rd_ul_resp},
	{SOAP_TYPE__cwmp__CancelTransferResponse, CWMP_MSG_CANCEL_TRANSFER_RESPONSE, rd_none},
	{SOAP_TYPE__cwmp__GetQueuedTransfersResponse, CWMP_MSG_GET_QUEUED_TRANSFERS_RESPONSE, rd_gqt_resp},
	{SOAP_TYPE__cwmp__GetAllQueuedTransfersResponse, CWMP_MSG_GET_ALL_QUEUED_TRANSFERS_RESPONSE, rd_gaqt_resp},
	{SOAP_TYPE__cwmp__ScheduleDownloadResponse, CWMP_MSG_SCHEDULE_DOWNLOAD_RESPONSE, rd_none},
	{SOAP_TYPE__cwmp__ChangeDUStateResponse, CWMP_MSG_CHANGE_DU_STATE_RESPONSE, rd_none},
	{SOAP_TYPE__cwmp__Inform, CWMP_MSG_INFORM, rd_inform},
	{SOAP_TYPE__cwmp__TransferComplete, CWMP_MSG_TRANSFER_COMPLETE, rd_tc},
	{SOAP_TYPE__cwmp__AutonomousTransferComplete, CWMP_MSG_AUTONOMOUS_TRANSFER_COMPLETE, rd_atc},
	{SOAP_TYPE__cwmp__DUStateChangeComplete, CWMP_MSG_DU_STATE_CHANGE_COMPLETE,
	 cwmp_codec_rd_du_state_change_complete},
};

static int rd_fault(struct conv *c, const struct SOAP_ENV__Fault *f, cwmp_msg *m)
{
	const struct _cwmp__Fault *d = f->detail ? f->detail->cwmp__Fault : NULL;
	int i;

	const char *code = f->faultcode ? strrchr(f->faultcode, ':') : NULL;

	/* faultcode is a QName; gSOAP hands an unqualified one back as
	 * "\"\":Server" and a qualified one with its prefix: keep the local part */
	m->kind = CWMP_MSG_FAULT;
	m->u.fault.faultcode = cwmp_conv_str(c, code ? code + 1 : f->faultcode);
	m->u.fault.faultstring = cwmp_conv_str(c, f->faultstring);
	if (!d)
		return 0;
	m->u.fault.code = d->FaultCode;
	m->u.fault.string = cwmp_conv_str(c, d->FaultString);
	if (d->__sizeSetParameterValuesFault <= 0)
		return 0;
	m->u.fault.spv = cwmp_conv_alloc(c, (size_t)d->__sizeSetParameterValuesFault * sizeof(cwmp_spv_fault));
	if (!m->u.fault.spv)
		return -1;
	for (i = 0; i < d->__sizeSetParameterValuesFault; i++) {
		m->u.fault.spv[i].name = cwmp_conv_str(c, d->SetParameterValuesFault[i].ParameterName);
		m->u.fault.spv[i].code = d->SetParameterValuesFault[i].FaultCode;
		m->u.fault.spv[i].string = cwmp_conv_str(c, d->SetParameterValuesFault[i].FaultString);
	}
	m->u.fault.n_spv = (size_t)d->__sizeSetParameterValuesFault;
	return 0;
}

static void rd_header(struct conv *c, const struct SOAP_ENV__Header *h, cwmp_msg *m)
{
	m->hdr.hold_requests = -1;
	if (!h)
		return;
	if (h->cwmp__ID)
		m->hdr.id = cwmp_conv_str(c, h->cwmp__ID->__item ? h->cwmp__ID->__item : "");
	if (h->cwmp__HoldRequests)
		m->hdr.hold_requests = h->cwmp__HoldRequests->__item == xsd__boolean__true_;
	if (h->cwmp__SessionTimeout)
		m->hdr.session_timeout = h->cwmp__SessionTimeout->__item;
	if (h->cwmp__SupportedCWMPVersions)
		m->hdr.supported_versions = cwmp_conv_str(c, h->cwmp__SupportedCWMPVersions->__item);
	if (h->cwmp__UseCWMPVersion)
		m->hdr.use_version = cwmp_conv_str(c, h->cwmp__UseCWMPVersion->__item);
}

/* The cwmp-1-<n> the ACS declared, as gSOAP recorded it when the input
 * pattern matched. */
static int ns_seen(struct soap *soap)
{
	const struct Namespace *ns = soap->local_namespaces;
	size_t plen = strlen(CWMP_URN);

	for (; ns && ns->id; ns++) {
		if (strcmp(ns->id, "cwmp") || !ns->out || strncmp(ns->out, CWMP_URN, plen))
			continue;
		if (ns->out[plen] >= '0' && ns->out[plen] <= '0' + CWMP_NS_MAX && !ns->out[plen + 1])
			return ns->out[plen] - '0';
	}
	return CWMP_NS_1_2;
}

static int fail(cwmp_fault_info *why, int status)
{
	if (why) {
		if (status == CWMP_CODEC_EMUSTUNDERSTAND) {
			/* a SOAP-level fault, not a CWMP one: no code */
			why->code = 0;
			why->msg = "SOAP header not understood";
		} else if (status == CWMP_CODEC_EUNSUPPORTED) {
			why->code = 9000;
			why->msg = "Method not supported";
		} else if (status == CWMP_CODEC_ENOMEM) {
			why->code = 9004;
			why->msg = "Resources exceeded";
		} else {
			why->code = 9003;
			why->msg = "Invalid arguments";
		}
	}
	return status;
}

static int only_space(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

/* CPE methods of the schema the CPE does not offer (Annex C vouchers and
 * options): refused as unsupported before their arguments are judged. */
static bool declined_method(const char *tag)
{
	static const char *const names[] = {"SetVouchers", "GetOptions"};
	const char *local = strchr(tag, ':');

	local = local ? local + 1 : tag;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcmp(local, names[i]))
			return true;
	return false;
}

/* Reads the Body's single element into m. */
static int read_body(struct soap *soap, struct conv *c, cwmp_msg *m)
{
	const void *p;
	size_t i;
	int type = 0;

	if (soap_peek_element(soap))
		return soap->error == SOAP_NO_TAG ? CWMP_CODEC_OK : CWMP_CODEC_EPARSE;
	if (declined_method(soap->tag)) {
		/* whatever its arguments, the answer is 9000 */
		if (soap_ignore_element(soap) || soap_body_end_in(soap) || soap_envelope_end_in(soap) ||
		    soap_end_recv(soap))
			return CWMP_CODEC_EPARSE;
		return CWMP_CODEC_EUNSUPPORTED;
	}
	if (!soap_match_tag(soap, soap->tag, "SOAP-ENV:Fault")) {
		struct SOAP_ENV__Fault *f = soap_in_SOAP_ENV__Fault(soap, NULL, NULL, NULL);

		if (!f)
			return CWMP_CODEC_EPARSE;
		return rd_fault(c, f, m) ? CWMP_CODEC_ENOMEM : CWMP_CODEC_OK;
	}
	p = soap_getelement(soap, NULL, &type);
	for (i = 0; p && i < sizeof readers / sizeof readers[0]; i++) {
		if (readers[i].type != type)
			continue;
		m->kind = readers[i].kind;
		switch (readers[i].read(c, p, m)) {
		case 0:
			return c->failed ? CWMP_CODEC_ENOMEM : CWMP_CODEC_OK;
		case -1:
			return CWMP_CODEC_ENOMEM;
		default:
			return CWMP_CODEC_EPARSE;
		}
	}
	/* A known element that failed to parse is malformed; an element
	 * we have no reader for is an unsupported method. */
	if (!p && soap->error != SOAP_TAG_MISMATCH && soap->error != SOAP_OK)
		return CWMP_CODEC_EPARSE;
	/* ...but only if the rest of the envelope is well-formed: a
	 * truncated name must not pass for an unknown method */
	soap->error = SOAP_OK;
	if ((!p && soap_ignore_element(soap)) || soap_body_end_in(soap) || soap_envelope_end_in(soap) ||
	    soap_end_recv(soap))
		return CWMP_CODEC_EPARSE;
	return CWMP_CODEC_EUNSUPPORTED;
}

int cwmp_codec_decode(const char *xml, size_t len, cwmp_msg **out, cwmp_fault_info *why)
{
	struct Namespace ns[6];
	struct soap *soap = NULL;
	struct block *chain = NULL;
	struct conv c = {&chain, 0};
	cwmp_msg *m;
	char *text = NULL;
	int rc;

	if (why)
		why->id[0] = '\0';
	if (!out || (!xml && len))
		return fail(why, CWMP_CODEC_EINVAL);
	*out = NULL;
	m = cwmp_conv_alloc(&c, sizeof *m);
	if (!m)
		return fail(why, CWMP_CODEC_ENOMEM);
	m->kind = CWMP_MSG_EMPTY;
	m->ns_version = CWMP_NS_1_2;
	m->hdr.hold_requests = -1;
	/* TR-069 3.4.6: an empty HTTP body ends the ACS's requests. */
	if (!xml || only_space(xml, len)) {
		rc = CWMP_CODEC_OK;
		goto out;
	}
	text = malloc(len + 1);
	cwmp_codec_ns_table(ns, NULL);
	soap = cwmp_codec_ctx_new(ns);
	if (!text || !soap) {
		rc = CWMP_CODEC_ENOMEM;
		goto out;
	}
	memcpy(text, xml, len);
	text[len] = '\0';
	soap->is = text;
	if (soap_begin_recv(soap) || soap_envelope_begin_in(soap)) {
		rc = CWMP_CODEC_EPARSE;
		goto out;
	}
	/* SOAP 1.1 4.2.3: an entry we do not know, marked mustUnderstand="1",
	 * forbids processing the message; gSOAP stops on it while reading
	 * the Header */
	if (soap_recv_header(soap)) {
		rc = soap->error == SOAP_MUSTUNDERSTAND ? CWMP_CODEC_EMUSTUNDERSTAND : CWMP_CODEC_EPARSE;
		goto out;
	}
	if (soap_body_begin_in(soap) || soap->version != 1) {
		/* gSOAP takes bare XML as REST content (version 0); a CWMP
		 * message must be a SOAP 1.1 envelope (TR-069 3.4.1) */
		rc = CWMP_CODEC_EPARSE;
		goto out;
	}
	rd_header(&c, soap->header, m);
	rc = read_body(soap, &c, m);
	if (rc == CWMP_CODEC_OK && (soap_body_end_in(soap) || soap_envelope_end_in(soap) ||
				    soap_end_recv(soap)))
		rc = CWMP_CODEC_EPARSE;
	m->ns_version = ns_seen(soap);
out:
	if (soap)
		cwmp_codec_ctx_free(soap);
	free(text);
	if (rc == CWMP_CODEC_OK && c.failed)
		rc = CWMP_CODEC_ENOMEM;
	if (rc != CWMP_CODEC_OK) {
		if (why && m->hdr.id)
			snprintf(why->id, sizeof why->id, "%s", m->hdr.id);
		m->mem = chain;
		cwmp_msg_free(m);
		return fail(why, rc);
	}
	m->mem = chain;
	*out = m;
	return CWMP_CODEC_OK;
}

void cwmp_msg_free(cwmp_msg *m)
{
	struct block *b, *next;

	if (!m)
		return;
	/* m itself is the first allocation, so it sits last in the chain */
	for (b = m->mem; b; b = next) {
		next = b->next;
		free(b);
	}
}
