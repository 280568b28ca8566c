/*
 * mtp_mqtt.h - what mtp_mqtt.c and mtp_mqtt_cfg.c share: the MQTT MTP's
 * configuration as read from the data model (Device.LocalAgent.MTP.{i},
 * Device.MQTT.Client.{k}, Device.LocalAgent.Controller.{i}.MTP.{j}), and
 * the writes of what the MTP learns (Status, ResponseTopicDiscovered,
 * the assigned ClientID). Private to those two files.
 */
#ifndef DUET_USP_MTP_MQTT_H
#define DUET_USP_MTP_MQTT_H

#include "mqtt_client.h"
#include "usp_int.h"

/* One MQTT session to run: an enabled LocalAgent.MTP.{mtp_inst} with
 * Protocol MQTT and the enabled MQTT.Client.{client_inst} it references.
 * Strings are malloc'd; usp_mqtt_cfg_clear frees them. */
typedef struct usp_mqtt_cfg {
	uint32_t client_inst, mtp_inst;
	char name[48];     /* "Device.MQTT.Client.1", for logs */
	char *host;
	unsigned port;
	bool tls;          /* TransportProtocol TLS (else TCP/IP) */
	bool v5;
	char *client_id, *username, *password;
	unsigned keepalive;
	bool clean;
	unsigned retry_time, retry_mult, retry_max;
	char *resp_topic;  /* ResponseTopicConfigured, "" when unset */
	unsigned publish_qos;
	char **subs;       /* enabled Subscription.{i}.Topic, with their QoS */
	int *sub_qos;
	size_t n_subs;
} usp_mqtt_cfg;

/*
 * Read every MQTT session to run (*out malloc'd, *n entries; an entry with
 * client_inst 0 is empty). MTPs and clients that are disabled or
 * misconfigured get their Status written here and no entry.
 */
int usp_mqtt_read_config(dm *d, usp_mqtt_cfg **out, size_t *n);
void usp_mqtt_cfg_clear(usp_mqtt_cfg *c);
/* Same connection: everything but PublishQoS, which applies on the fly. */
bool usp_mqtt_cfg_same(const usp_mqtt_cfg *a, const usp_mqtt_cfg *b);

/* An enabled Controller with an enabled MQTT MTP that has a Topic. */
typedef struct usp_mqtt_ctl {
	const char *endpoint_id;
	const char *topic;   /* Controller.{i}.MTP.{j}.MQTT.Topic */
	uint32_t agent_mtp;  /* MQTT.AgentMTPReference's LocalAgent.MTP instance, 0 = any */
} usp_mqtt_ctl;
/* Return non-zero to stop. */
typedef int (*usp_mqtt_ctl_fn)(void *ctx, const usp_mqtt_ctl *ctl);
int usp_mqtt_each_controller(dm *d, usp_mqtt_ctl_fn fn, void *ctx);

/* Write parameters as the agent (INTERNAL origin), in one transaction, only
 * those whose value differs; no commit when none does. */
typedef struct usp_mqtt_kv {
	const char *path;
	const char *value;
} usp_mqtt_kv;
int usp_mqtt_write(dm *d, const usp_mqtt_kv *kv, size_t n);
/* MQTT.Client.{client_inst}.Status and LocalAgent.MTP.{mtp_inst}.Status. */
int usp_mqtt_set_status(dm *d, uint32_t client_inst, const char *client_status, uint32_t mtp_inst,
			const char *mtp_status);

/* MQTT 3.1.1 "reply to" convention (malloc'd results, NULL on OOM):
 * R-MQTT.24: dest + "/reply-to=" + reply with each "/" written "%2F";
 * R-MQTT.25: the part of topic after the last "/reply-to=", "%2F" read
 * as "/" (NULL when there is none or it is empty). */
char *usp_mqtt_topic_with_reply_to(const char *dest, const char *reply);
char *usp_mqtt_reply_to_of(const char *topic);

#endif /* DUET_USP_MTP_MQTT_H */
