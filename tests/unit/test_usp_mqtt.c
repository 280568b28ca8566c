/*
 * test_usp_mqtt.c - the MQTT MTP's pure rules: the connect retry back-off of
 * TR-181 MQTT.Client.{i}.ConnectRetryTime (usp/mqtt_client.c) and the MQTT
 * 3.1.1 "reply to" topic convention of TR-369 R-MQTT.24/25
 * (usp/mtp_mqtt.c). The wire behaviour is tested against a real broker
 * with tests/integration/usp_mqtt.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mtp_mqtt.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* T, k (1/1000), cap, retry n, random point r -> expected wait in ms. */
typedef struct rcase {
	unsigned t, k, max, n;
	double r;
	uint64_t ms;
} rcase;

static void test_retry_delay(void **state)
{
	static const rcase cases[] = {
		/* TR-181 defaults 5 s, 2000, 30720 s: retry n in [5*2^(n-1), 5*2^n] */
		{5, 2000, 30720, 1, 0.0, 5000},
		{5, 2000, 30720, 1, 1.0, 10000},
		{5, 2000, 30720, 1, 0.5, 7500},
		{5, 2000, 30720, 2, 0.0, 10000},
		{5, 2000, 30720, 2, 1.0, 20000},
		{5, 2000, 30720, 10, 0.0, 2560000},
		/* "The max number of n is 10" */
		{5, 2000, 30720, 11, 0.0, 2560000},
		{5, 2000, 30720, 500, 1.0, 5120000},
		/* capped by ConnectRetryMaxInterval */
		{5, 2000, 60, 5, 0.0, 60000},
		{5, 2000, 60, 4, 0.0, 40000},
		/* multiplier 1.000: always T */
		{3, 1000, 30720, 7, 1.0, 3000},
		/* largest multiplier 65.535 stays finite under the cap */
		{1, 65535, 30720, 10, 1.0, 30720000},
		/* r outside [0,1] and n 0 are clamped */
		{5, 2000, 30720, 0, -1.0, 5000},
		{5, 2000, 30720, 1, 2.0, 10000},
	};
	for (size_t i = 0; i < N(cases); i++) {
		const rcase *c = &cases[i];
		uint64_t got = usp_mqtt_retry_delay_ms(c->t, c->k, c->max, c->n, c->r);
		if (got != c->ms)
			fail_msg("case %zu: T=%u k=%u max=%u n=%u r=%g: %llu ms, want %llu", i, c->t, c->k, c->max,
				 c->n, c->r, (unsigned long long)got, (unsigned long long)c->ms);
	}
}

typedef struct tcase {
	const char *dest, *reply, *topic;
} tcase;

static const tcase topics[] = {
	/* TR-369 "Sending the USP Record in a PUBLISH Packet Payload" example */
	{"usp/agents/cid:3AA3F8:my-unique-usp-id-42", "usp/controllers/oui:00256D:my-unique-bbf-id-42",
	 "usp/agents/cid:3AA3F8:my-unique-usp-id-42/reply-to=usp%2Fcontrollers%2Foui:00256D:my-unique-bbf-id-42"},
	{"a", "b", "a/reply-to=b"},
	{"a/b", "/lead/and/trail/", "a/b/reply-to=%2Flead%2Fand%2Ftrail%2F"},
};

static void test_reply_to_encode(void **state)
{
	for (size_t i = 0; i < N(topics); i++) {
		char *got = usp_mqtt_topic_with_reply_to(topics[i].dest, topics[i].reply);
		assert_non_null(got);
		assert_string_equal(got, topics[i].topic);
		free(got);
	}
}

static void test_reply_to_decode(void **state)
{
	for (size_t i = 0; i < N(topics); i++) {
		char *got = usp_mqtt_reply_to_of(topics[i].topic);
		assert_non_null(got);
		assert_string_equal(got, topics[i].reply);
		free(got);
	}
	/* R-MQTT.25: the last "/reply-to=" counts; "%2f" is accepted too */
	static const char *const pairs[][2] = {
		{"x/reply-to=a/reply-to=b%2fc", "b/c"},
		{"agent/reply-to=ctl%2F1", "ctl/1"},
	};
	for (size_t i = 0; i < N(pairs); i++) {
		char *got = usp_mqtt_reply_to_of(pairs[i][0]);
		assert_non_null(got);
		assert_string_equal(got, pairs[i][1]);
		free(got);
	}
	/* no reply-to: nothing to answer to */
	static const char *const none[] = {"usp/agent/1", "usp/agent/1/reply-to=", "reply-to=x"};
	for (size_t i = 0; i < N(none); i++)
		assert_null(usp_mqtt_reply_to_of(none[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_delay),
		cmocka_unit_test(test_reply_to_encode),
		cmocka_unit_test(test_reply_to_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
