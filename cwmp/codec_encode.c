/*
 * cwmp/codec_encode.c - a cwmp_msg the CPE sends into one SOAP 1.1
 * envelope, in the cwmp namespace version the ACS used. Reading is in
 * codec_decode.c.
 */
#include "cwmp/codec_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct ParameterValueList *wr_values(struct soap *soap, const cwmp_param_value *v, size_t n)
{
	struct ParameterValueList *l = soap_new_ParameterValueList(soap, 1);
	size_t i;

	if (!l)
		return NULL;
	l->__size = (int)n;
	l->__ptrParameterValueStruct = soap_malloc(soap, (n ? n : 1) * sizeof(void *));
	for (i = 0; l->__ptrParameterValueStruct && i < n; i++) {
		struct cwmp__ParameterValueStruct *p = soap_new_cwmp__ParameterValueStruct(soap, 1);

		if (!p)
			return NULL;
		p->Name = cwmp_codec_or_empty(v[i].name);
		p->Value.__item = cwmp_codec_or_empty(v[i].value);
		p->Value.xsi__type = (char *)cwmp_value_type_name(v[i].type);
		l->__ptrParameterValueStruct[i] = p;
	}
	return l->__ptrParameterValueStruct ? l : NULL;
}

static void *wr_inform(struct soap *soap, const cwmp_msg *m)
{
	struct _cwmp__Inform *in = soap_new__cwmp__Inform(soap, 1);
	struct cwmp__DeviceIdStruct *dev = soap_new_cwmp__DeviceIdStruct(soap, 1);
	struct EventList *ev = soap_new_EventList(soap, 1);
	size_t i, n = m->u.inform.n_events;

	if (!in || !dev || !ev)
		return NULL;
	dev->Manufacturer = cwmp_codec_or_empty(m->u.inform.manufacturer);
	dev->OUI = cwmp_codec_or_empty(m->u.inform.oui);
	dev->ProductClass = cwmp_codec_or_empty(m->u.inform.product_class);
	dev->SerialNumber = cwmp_codec_or_empty(m->u.inform.serial_number);
	ev->__size = (int)n;
	ev->__ptrEventStruct = soap_malloc(soap, (n ? n : 1) * sizeof(void *));
	if (!ev->__ptrEventStruct)
		return NULL;
	for (i = 0; i < n; i++) {
		struct cwmp__EventStruct *e = soap_new_cwmp__EventStruct(soap, 1);

		if (!e)
			return NULL;
		e->EventCode = cwmp_codec_or_empty(m->u.inform.events[i].code);
		e->CommandKey = cwmp_codec_or_empty(m->u.inform.events[i].command_key);
		ev->__ptrEventStruct[i] = e;
	}
	in->DeviceId = dev;
	in->Event = ev;
	in->MaxEnvelopes = 1; /* TR-069 3.4.1: one envelope per message */
	in->CurrentTime = cwmp_codec_or_empty(m->u.inform.current_time);
	in->RetryCount = m->u.inform.retry_count;
	in->ParameterList = wr_values(soap, m->u.inform.params, m->u.inform.n_params);
	return in->ParameterList ? in : NULL;
}

static void *wr_grm(struct soap *soap, const cwmp_msg *m)
{
	return soap_new__cwmp__GetRPCMethods(soap, 1);
}

static void *wr_grm_resp(struct soap *soap, const cwmp_msg *m)
{
	struct _cwmp__GetRPCMethodsResponse *r = soap_new__cwmp__GetRPCMethodsResponse(soap, 1);
	struct MethodList *l = soap_new_MethodList(soap, 1);

	if (!r || !l)
		return NULL;
	l->__size = (int)m->u.names.n;
	l->__ptrstring = m->u.names.v;
	if (!l->__ptrstring && !(l->__ptrstring = soap_malloc(soap, sizeof(char *))))
		return NULL; /* gSOAP drops arrayType from a NULL array */
	r->MethodList = l;
	return r;
}

static void *wr_gpv_resp(struct soap *soap, const cwmp_msg *m)
{
	struct _cwmp__GetParameterValuesResponse *r = soap_new__cwmp__GetParameterValuesResponse(soap, 1);

	if (!r)
		return NULL;
	r->ParameterList = wr_values(soap, m->u.values.v, m->u.values.n);
	return r->ParameterList ? r : NULL;
}

static void *wr_gpn_resp(struct soap *soap, const cwmp_msg *m)
{
	struct _cwmp__GetParameterNamesResponse *r = soap_new__cwmp__GetParameterNamesResponse(soap, 1);
	struct ParameterInfoList *l = soap_new_ParameterInfoList(soap, 1);
	size_t i, n = m->u.infos.n;

	if (!r || !l)
		return NULL;
	l->__size = (int)n;
	l->__ptrParameterInfoStruct = soap_malloc(soap, (n ? n : 1) * sizeof(void *));
	if (!l->__ptrParameterInfoStruct)
		return NULL;
	for (i = 0; i < n; i++) {
		struct cwmp__ParameterInfoStruct *p = soap_new_cwmp__ParameterInfoStruct(soap, 1);

		if (!p)
			return NULL;
		p->Name = cwmp_codec_or_empty(m->u.infos.v[i].name);
		p->Writable = m->u.infos.v[i].writable ? xsd__boolean__true_ : xsd__boolean__false_;
		l->__ptrParameterInfoStruct[i] = p;
	}
	r->ParameterList = l;
	return r;
}

static void *wr_gpa_resp(struct soap *soap, const cwmp_msg *m)
{
	struct _cwmp__GetParameterAttributesResponse *r = soap_new__cwmp__GetParameterAttributesResponse(soap, 1);
	struct ParameterAttributeList *l = soap_new_ParameterAttributeList(soap, 1);
	size_t i, n = m->u.attrs.n;

	if (!r || !l)
		return NULL;
	l->__size = (int)n;
	l->__ptrParameterAttributeStruct = soap_malloc(soap, (n ? n : 1) * sizeof(void *));
	if (!l->__ptrParameterAttributeStruct)
		return NULL;
	for (i = 0; i < n; i++) {
		struct cwmp__ParameterAttributeStruct *a = soap_new_cwmp__ParameterAttributeStruct(soap, 1);
		struct AccessList *al = soap_new_AccessList(soap, 1);

		if (!a || !al)
			return NULL;
		a->Name = cwmp_codec_or_empty(m->u.attrs.v[i].name);
		a->Notification = m->u.attrs.v[i].notification;
		/* AccessList is required even when empty (an empty list = no restriction) */
		al->__size = (int)m->u.attrs.v[i].access_list.n;
		al->__ptrstring = m->u.attrs.v[i].access_list.v;
		if (!al->__ptrstring && !(al->__ptrstring = soap_malloc(soap, sizeof(char *))))
			return NULL; /* gSOAP drops arrayType from a NULL array */
		a->AccessList = al;
		l->__ptrParameterAttributeStruct[i] = a;
	}
	r->ParameterList = l;
	return r;
}

static void *wr_spa_resp(struct soap *soap, const cwmp_msg *m)
{
	return soap_new__cwmp__SetParameterAttributesResponse(soap, 1);
}

static void *wr_spv_resp(struct soap *soap, const cwmp_msg *m)
{
	struct _cwmp__SetParameterValuesResponse *r = soap_new__cwmp__SetParameterValuesResponse(soap, 1);

	if (r)
		r->Status = m->u.status;
	return r;
}

static void *wr_add_resp(struct soap *soap, const cwmp_msg *m)
{
	struct _cwmp__AddObjectResponse *r = soap_new__cwmp__AddObjectResponse(soap, 1);

	if (r) {
		r->InstanceNumber = m->u.add_object.instance;
		r->Status = m->u.add_object.status;
	}
	return r;
}

static void *wr_del_resp(struct soap *soap, const cwmp_msg *m)
{
	struct _cwmp__DeleteObjectResponse *r = soap_new__cwmp__DeleteObjectResponse(soap, 1);

	if (r)
		r->Status = m->u.status;
	return r;
}

static void *wr_reboot_resp(struct soap *soap, const cwmp_msg *m)
{
	return soap_new__cwmp__RebootResponse(soap, 1);
}

static void *wr_fr_resp(struct soap *soap, const cwmp_msg *m)
{
	return soap_new__cwmp__FactoryResetResponse(soap, 1);
}

static void *wr_si_resp(struct soap *soap, const cwmp_msg *m)
{
	return soap_new__cwmp__ScheduleInformResponse(soap, 1);
}

/* Annex A's Unknown Time, for a transfer not yet started or completed */

static void *wr_dl_resp(struct soap *soap, const cwmp_msg *m)
{
	struct _cwmp__DownloadResponse *r = soap_new__cwmp__DownloadResponse(soap, 1);

	if (r) {
		r->Status = m->u.transfer_response.status;
		r->StartTime = (char *)(m->u.transfer_response.start_time ? m->u.transfer_response.start_time : CWMP_UNKNOWN_TIME);
		r->CompleteTime = (char *)(m->u.transfer_response.complete_time ? m->u.transfer_response.complete_time : CWMP_UNKNOWN_TIME);
	}
	return r;
}

static void *wr_ul_resp(struct soap *soap, const cwmp_msg *m)
{
	struct _cwmp__UploadResponse *r = soap_new__cwmp__UploadResponse(soap, 1);

	if (r) {
		r->Status = m->u.transfer_response.status;
		r->StartTime = (char *)(m->u.transfer_response.start_time ? m->u.transfer_response.start_time : CWMP_UNKNOWN_TIME);
		r->CompleteTime = (char *)(m->u.transfer_response.complete_time ? m->u.transfer_response.complete_time : CWMP_UNKNOWN_TIME);
	}
	return r;
}

static void *wr_ct_resp(struct soap *soap, const cwmp_msg *m)
{
	return soap_new__cwmp__CancelTransferResponse(soap, 1);
}

static struct cwmp__TransferCompleteFaultStruct *wr_tc_fault(struct soap *soap, const cwmp_msg *m)
{
	struct cwmp__TransferCompleteFaultStruct *f = soap_new_cwmp__TransferCompleteFaultStruct(soap, 1);

	if (f) {
		f->FaultCode = m->u.transfer_complete.fault_code;
		f->FaultString = cwmp_codec_or_empty(m->u.transfer_complete.fault_string);
	}
	return f;
}

static void *wr_atc(struct soap *soap, const cwmp_msg *m)
{
	struct _cwmp__AutonomousTransferComplete *t = soap_new__cwmp__AutonomousTransferComplete(soap, 1);

	if (!t || !(t->FaultStruct = wr_tc_fault(soap, m)))
		return NULL;
	t->AnnounceURL = cwmp_codec_or_empty(m->u.transfer_complete.announce_url);
	t->TransferURL = cwmp_codec_or_empty(m->u.transfer_complete.transfer_url);
	t->IsDownload = m->u.transfer_complete.is_download ? xsd__boolean__true_ : xsd__boolean__false_;
	t->FileType = cwmp_codec_or_empty(m->u.transfer_complete.file_type);
	t->FileSize = m->u.transfer_complete.file_size;
	t->TargetFileName = cwmp_codec_or_empty(m->u.transfer_complete.target_file_name);
	t->StartTime = (char *)(m->u.transfer_complete.start_time ? m->u.transfer_complete.start_time
								 : CWMP_UNKNOWN_TIME);
	t->CompleteTime = (char *)(m->u.transfer_complete.complete_time
					   ? m->u.transfer_complete.complete_time
					   : CWMP_UNKNOWN_TIME);
	return t;
}

static void *wr_tc(struct soap *soap, const cwmp_msg *m)
{
	struct _cwmp__TransferComplete *t = soap_new__cwmp__TransferComplete(soap, 1);
	struct cwmp__TransferCompleteFaultStruct *f = soap_new_cwmp__TransferCompleteFaultStruct(soap, 1);

	if (!t || !f)
		return NULL;
	t->CommandKey = cwmp_codec_or_empty(m->u.transfer_complete.command_key);
	f->FaultCode = m->u.transfer_complete.fault_code;
	f->FaultString = cwmp_codec_or_empty(m->u.transfer_complete.fault_string);
	t->FaultStruct = f;
	/* the Unknown Time when the CPE cannot tell */
	t->StartTime = (char *)(m->u.transfer_complete.start_time ? m->u.transfer_complete.start_time
								 : CWMP_UNKNOWN_TIME);
	t->CompleteTime = (char *)(m->u.transfer_complete.complete_time
					   ? m->u.transfer_complete.complete_time
					   : CWMP_UNKNOWN_TIME);
	return t;
}

static void *wr_gqt_resp(struct soap *soap, const cwmp_msg *m)
{
	struct _cwmp__GetQueuedTransfersResponse *r = soap_new__cwmp__GetQueuedTransfersResponse(soap, 1);
	struct TransferList *l = soap_new_TransferList(soap, 1);
	size_t i, n = m->u.queued.n;

	if (!r || !l)
		return NULL;
	l->__size = (int)n;
	l->__ptrQueuedTransferStruct = soap_malloc(soap, (n ? n : 1) * sizeof(void *));
	if (!l->__ptrQueuedTransferStruct)
		return NULL; /* a NULL array would also lose its arrayType */
	for (i = 0; i < n; i++) {
		struct cwmp__QueuedTransferStruct *q = soap_new_cwmp__QueuedTransferStruct(soap, 1);

		if (!q)
			return NULL;
		q->CommandKey = cwmp_codec_or_empty(m->u.queued.v[i].command_key);
		q->State = m->u.queued.v[i].state;
		l->__ptrQueuedTransferStruct[i] = q;
	}
	r->TransferList = l;
	return r;
}

static void *wr_gaqt_resp(struct soap *soap, const cwmp_msg *m)
{
	struct _cwmp__GetAllQueuedTransfersResponse *r = soap_new__cwmp__GetAllQueuedTransfersResponse(soap, 1);
	struct AllTransferList *l = soap_new_AllTransferList(soap, 1);
	size_t i, n = m->u.queued.n;

	if (!r || !l)
		return NULL;
	l->__size = (int)n;
	l->__ptrAllQueuedTransferStruct = soap_malloc(soap, (n ? n : 1) * sizeof(void *));
	if (!l->__ptrAllQueuedTransferStruct)
		return NULL;
	for (i = 0; i < n; i++) {
		const cwmp_queued_transfer *s = &m->u.queued.v[i];
		struct cwmp__AllQueuedTransferStruct *q = soap_new_cwmp__AllQueuedTransferStruct(soap, 1);

		if (!q)
			return NULL;
		q->CommandKey = cwmp_codec_or_empty(s->command_key);
		q->State = s->state;
		q->IsDownload = s->is_download ? xsd__boolean__true_ : xsd__boolean__false_;
		q->FileType = cwmp_codec_or_empty(s->file_type);
		q->FileSize = s->file_size;
		q->TargetFileName = cwmp_codec_or_empty(s->target_file_name);
		l->__ptrAllQueuedTransferStruct[i] = q;
	}
	r->TransferList = l;
	return r;
}

static void *wr_sd_resp(struct soap *soap, const cwmp_msg *m)
{
	return soap_new__cwmp__ScheduleDownloadResponse(soap, 1);
}

static void *wr_cds_resp(struct soap *soap, const cwmp_msg *m)
{
	return soap_new__cwmp__ChangeDUStateResponse(soap, 1);
}

/* What the CPE sends: kind -> element and builder. */
static const struct writer {
	cwmp_msg_kind kind;
	int type;
	const char *tag;
	void *(*build)(struct soap *, const cwmp_msg *);
} writers[] = {
	{CWMP_MSG_INFORM, SOAP_TYPE__cwmp__Inform, "cwmp:Inform", wr_inform},
	{CWMP_MSG_GET_RPC_METHODS, SOAP_TYPE__cwmp__GetRPCMethods, "cwmp:GetRPCMethods", wr_grm},
	{CWMP_MSG_GET_RPC_METHODS_RESPONSE, SOAP_TYPE__cwmp__GetRPCMethodsResponse,
	 "cwmp:GetRPCMethodsResponse", wr_grm_resp},
	{CWMP_MSG_GET_PARAMETER_VALUES_RESPONSE, SOAP_TYPE__cwmp__GetParameterValuesResponse,
	 "cwmp:GetParameterValuesResponse", wr_gpv_resp},
	{CWMP_MSG_GET_PARAMETER_NAMES_RESPONSE, SOAP_TYPE__cwmp__GetParameterNamesResponse,
	 "cwmp:GetParameterNamesResponse", wr_gpn_resp},
	{CWMP_MSG_SET_PARAMETER_VALUES_RESPONSE, SOAP_TYPE__cwmp__SetParameterValuesResponse,
	 "cwmp:SetParameterValuesResponse", wr_spv_resp},
	{CWMP_MSG_ADD_OBJECT_RESPONSE, SOAP_TYPE__cwmp__AddObjectResponse,
	 "cwmp:AddObjectResponse", wr_add_resp},
	{CWMP_MSG_DELETE_OBJECT_RESPONSE, SOAP_TYPE__cwmp__DeleteObjectResponse,
	 "cwmp:DeleteObjectResponse", wr_del_resp},
	{CWMP_MSG_REBOOT_RESPONSE, SOAP_TYPE__cwmp__RebootResponse, "cwmp:RebootResponse",
	 wr_reboot_resp},
	{CWMP_MSG_FACTORY_RESET_RESPONSE, SOAP_TYPE__cwmp__FactoryResetResponse,
	 "cwmp:FactoryResetResponse", wr_fr_resp},
	{CWMP_MSG_SCHEDULE_INFORM_RESPONSE, SOAP_TYPE__cwmp__ScheduleInformResponse,
	 "cwmp:ScheduleInformResponse", wr_si_resp},
	{CWMP_MSG_GET_PARAMETER_ATTRIBUTES_RESPONSE, SOAP_TYPE__cwmp__GetParameterAttributesResponse,
	 "cwmp:GetParameterAttributesResponse", wr_gpa_resp},
	{CWMP_MSG_SET_PARAMETER_ATTRIBUTES_RESPONSE, SOAP_TYPE__cwmp__SetParameterAttributesResponse,
	 "cwmp:SetParameterAttributesResponse", wr_spa_resp},
	{CWMP_MSG_DOWNLOAD_RESPONSE, SOAP_TYPE__cwmp__DownloadResponse, "cwmp:DownloadResponse",
	 wr_dl_resp},
	{CWMP_MSG_UPLOAD_RESPONSE, SOAP_TYPE__cwmp__UploadResponse, "cwmp:UploadResponse",
	 wr_ul_resp},
	{CWMP_MSG_CANCEL_TRANSFER_RESPONSE, SOAP_TYPE__cwmp__CancelTransferResponse,
	 "cwmp:CancelTransferResponse", wr_ct_resp},
	{CWMP_MSG_GET_QUEUED_TRANSFERS_RESPONSE, SOAP_TYPE__cwmp__GetQueuedTransfersResponse,
	 "cwmp:GetQueuedTransfersResponse", wr_gqt_resp},
	{CWMP_MSG_GET_ALL_QUEUED_TRANSFERS_RESPONSE, SOAP_TYPE__cwmp__GetAllQueuedTransfersResponse,
	 "cwmp:GetAllQueuedTransfersResponse", wr_gaqt_resp},
	{CWMP_MSG_SCHEDULE_DOWNLOAD_RESPONSE, SOAP_TYPE__cwmp__ScheduleDownloadResponse,
	 "cwmp:ScheduleDownloadResponse", wr_sd_resp},
	{CWMP_MSG_CHANGE_DU_STATE_RESPONSE, SOAP_TYPE__cwmp__ChangeDUStateResponse,
	 "cwmp:ChangeDUStateResponse", wr_cds_resp},
	{CWMP_MSG_DU_STATE_CHANGE_COMPLETE, SOAP_TYPE__cwmp__DUStateChangeComplete,
	 "cwmp:DUStateChangeComplete", cwmp_codec_wr_du_state_change_complete},
	{CWMP_MSG_AUTONOMOUS_DU_STATE_CHANGE_COMPLETE, SOAP_TYPE__cwmp__AutonomousDUStateChangeComplete,
	 "cwmp:AutonomousDUStateChangeComplete", cwmp_codec_wr_autonomous_du_state_change_complete},
	{CWMP_MSG_TRANSFER_COMPLETE, SOAP_TYPE__cwmp__TransferComplete, "cwmp:TransferComplete",
	 wr_tc},
	{CWMP_MSG_AUTONOMOUS_TRANSFER_COMPLETE, SOAP_TYPE__cwmp__AutonomousTransferComplete,
	 "cwmp:AutonomousTransferComplete", wr_atc},
};

/* Client faults: the request itself was wrong (A.5.1); the rest are Server. */
static const unsigned client_faults[] = {9003, 9005, 9006, 9007, 9008};

static const char *fault_side(unsigned code)
{
	size_t i;

	for (i = 0; i < sizeof client_faults / sizeof client_faults[0]; i++)
		if (client_faults[i] == code)
			return "Client";
	return "Server";
}

static int wr_fault(struct soap *soap, const cwmp_msg *m)
{
	const cwmp_fault *f = &m->u.fault;
	struct SOAP_ENV__Detail *d = soap_new_SOAP_ENV__Detail(soap, 1);
	struct _cwmp__Fault *cf = soap_new__cwmp__Fault(soap, 1);
	size_t i;

	soap_fault(soap);
	if (!d || !cf || !soap->fault)
		return -1;
	if (!f->code) {
		/* a SOAP-level fault such as MustUnderstand (SOAP 1.1 4.4.1):
		 * no CWMP code exists for it, so no cwmp:Fault detail either */
		soap->fault->faultcode = (char *)(f->faultcode ? f->faultcode : "SOAP-ENV:Client");
		soap->fault->faultstring = (char *)(f->faultstring ? f->faultstring : "SOAP fault");
		soap->fault->detail = NULL;
		return 0;
	}
	cf->FaultCode = f->code;
	cf->FaultString = cwmp_codec_or_empty(f->string);
	if (f->n_spv) {
		cf->SetParameterValuesFault =
			soap_new_cwmp__SetParameterValuesFaultStruct(soap, (int)f->n_spv);
		if (!cf->SetParameterValuesFault)
			return -1;
		for (i = 0; i < f->n_spv; i++) {
			cf->SetParameterValuesFault[i].ParameterName = cwmp_codec_or_empty(f->spv[i].name);
			cf->SetParameterValuesFault[i].FaultCode = f->spv[i].code;
			cf->SetParameterValuesFault[i].FaultString = cwmp_codec_or_empty(f->spv[i].string);
		}
		cf->__sizeSetParameterValuesFault = (int)f->n_spv;
	}
	d->cwmp__Fault = cf;
	soap->fault->faultcode = (char *)(f->faultcode ? f->faultcode : fault_side(f->code));
	soap->fault->faultstring = (char *)(f->faultstring ? f->faultstring : "CWMP fault");
	soap->fault->detail = d;
	return 0;
}

/* Header entries: cwmp:ID and cwmp:HoldRequests carry mustUnderstand=1,
 * the 1.4 version entries as the schema states (TR-069 3.5). */
static struct SOAP_ENV__Header *wr_header(struct soap *soap, const cwmp_header *h)
{
	struct SOAP_ENV__Header *out;

	if (!h->id && h->hold_requests < 0 && !h->session_timeout && !h->supported_versions &&
	    !h->use_version)
		return NULL;
	out = soap_new_SOAP_ENV__Header(soap, 1);
	if (!out)
		return NULL;
	if (h->id && (out->cwmp__ID = soap_new__cwmp__ID(soap, 1))) {
		out->cwmp__ID->__item = h->id;
		out->cwmp__ID->SOAP_ENV__mustUnderstand = "1";
	}
	if (h->hold_requests >= 0 && (out->cwmp__HoldRequests = soap_new__cwmp__HoldRequests(soap, 1))) {
		out->cwmp__HoldRequests->__item = h->hold_requests ? xsd__boolean__true_ : xsd__boolean__false_;
		out->cwmp__HoldRequests->SOAP_ENV__mustUnderstand = "1";
	}
	if (h->session_timeout && (out->cwmp__SessionTimeout = soap_new__cwmp__SessionTimeout(soap, 1))) {
		out->cwmp__SessionTimeout->__item = h->session_timeout;
		out->cwmp__SessionTimeout->SOAP_ENV__mustUnderstand = "0";
	}
	if (h->supported_versions &&
	    (out->cwmp__SupportedCWMPVersions = soap_new__cwmp__SupportedCWMPVersions(soap, 1))) {
		out->cwmp__SupportedCWMPVersions->__item = h->supported_versions;
		out->cwmp__SupportedCWMPVersions->SOAP_ENV__mustUnderstand = "0";
	}
	if (h->use_version && (out->cwmp__UseCWMPVersion = soap_new__cwmp__UseCWMPVersion(soap, 1))) {
		out->cwmp__UseCWMPVersion->__item = h->use_version;
		out->cwmp__UseCWMPVersion->SOAP_ENV__mustUnderstand = "1";
	}
	return out;
}

static int emit(struct soap *soap, const cwmp_msg *m, const char **text)
{
	const struct writer *w = NULL;
	void *body = NULL;
	size_t i;

	if (m->kind == CWMP_MSG_FAULT) {
		if (wr_fault(soap, m))
			return CWMP_CODEC_ENOMEM;
	} else {
		for (i = 0; i < sizeof writers / sizeof writers[0]; i++)
			if (writers[i].kind == m->kind)
				w = &writers[i];
		if (!w)
			return CWMP_CODEC_EINVAL;
		/* A.4.2.3: Results has at least one entry */
		if ((m->kind == CWMP_MSG_DU_STATE_CHANGE_COMPLETE ||
		     m->kind == CWMP_MSG_AUTONOMOUS_DU_STATE_CHANGE_COMPLETE) && !m->u.du_results.n)
			return CWMP_CODEC_EINVAL;
		body = w->build(soap, m);
		if (!body)
			return CWMP_CODEC_ENOMEM;
	}
	soap->header = wr_header(soap, &m->hdr);
	/* TR-069 3.4.1: SOAP 1.1 with SOAP encoding declared on the envelope */
	soap->encodingStyle = "";
	soap->os = text;
	soap_serializeheader(soap);
	if (w)
		soap_markelement(soap, body, w->type);
	else
		soap_serializefault(soap);
	if (soap_begin_send(soap) || soap_envelope_begin_out(soap) || soap_putheader(soap) ||
	    soap_body_begin_out(soap) ||
	    (w ? soap_putelement(soap, body, w->tag, -1, w->type) : soap_putfault(soap)) ||
	    soap_body_end_out(soap) || soap_envelope_end_out(soap) || soap_end_send(soap))
		return soap->error == SOAP_EOM ? CWMP_CODEC_ENOMEM : CWMP_CODEC_EINVAL;
	return CWMP_CODEC_OK;
}

int cwmp_codec_encode(const cwmp_msg *m, int ns_version, char **xml, size_t *len)
{
	struct Namespace ns[6];
	char urn[sizeof CWMP_URN + 2];
	const char *text = NULL;
	struct soap *soap;
	int rc;

	if (!m || !xml || !len || ns_version < 0 || ns_version > CWMP_NS_MAX ||
	    (unsigned)m->kind >= CWMP_MSG_KIND_COUNT)
		return CWMP_CODEC_EINVAL;
	*xml = NULL;
	*len = 0;
	if (m->kind == CWMP_MSG_EMPTY) {
		/* TR-069 3.4.6: the CPE's "nothing more" is an empty POST */
		*xml = calloc(1, 1);
		return *xml ? CWMP_CODEC_OK : CWMP_CODEC_ENOMEM;
	}
	rc = cwmp_codec_encode_fast(m, ns_version, xml, len);
	if (rc != CWMP_CODEC_EUNSUPPORTED)
		return rc;
	snprintf(urn, sizeof urn, "%s%d", CWMP_URN, ns_version);
	cwmp_codec_ns_table(ns, urn);
	soap = cwmp_codec_ctx_new(ns);
	if (!soap)
		return CWMP_CODEC_ENOMEM;
	rc = emit(soap, m, &text);
	if (rc == CWMP_CODEC_OK) {
		*len = text ? strlen(text) : 0;
		*xml = malloc(*len + 1);
		if (*xml)
			memcpy(*xml, text ? text : "", *len + 1);
		else
			rc = CWMP_CODEC_ENOMEM;
	}
	soap->header = NULL;
	if (soap->fault)
		soap->fault->detail = NULL;
	soap->os = NULL;
	cwmp_codec_ctx_free(soap);
	return rc;
}
