# duet - top-level build. `make` builds build/duetd and build/duetctl;
# `make run` starts the agent on embedded defaults; `make test` runs every
# test and ends with one summary line; `make bench` prints the benchmarks.

BUILD ?= build
CC ?= cc
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Wshadow \
	  -Idatamodel -Icore -Iusp -Icwmp -Imapping -I$(BUILD)/proto -MMD -MP
LDFLAGS ?=
PKGS := lmdb libxml-2.0 libuv libprotobuf-c libwebsockets libmosquitto libcurl libcrypto
SHARED ?= $(abspath ../shared)

# pkg-config runs once, after the dependency check, not at parse time.
PKG_CFLAGS = $(eval PKG_CFLAGS := $$(shell pkg-config --cflags $(PKGS)))$(PKG_CFLAGS)
PKG_LIBS = $(eval PKG_LIBS := $$(shell pkg-config --libs $(PKGS)))$(PKG_LIBS)
CMOCKA_LIBS = $(eval CMOCKA_LIBS := $$(shell pkg-config --libs cmocka))$(CMOCKA_LIBS)

DM_SRCS := $(wildcard datamodel/*.c)
CORE_SRCS := $(filter-out core/main.c,$(wildcard core/*.c))
USP_SRCS := $(wildcard usp/*.c)
CWMP_SRCS := $(filter-out cwmp/codec%.c,$(wildcard cwmp/*.c))
MAP_SRCS := $(wildcard mapping/*.c)
PROTOS := $(wildcard proto/*.proto)
CTL_SRCS := $(wildcard tools/duetctl/*.c)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
BENCH_SRCS := $(wildcard tests/bench/*.c)

DM_OBJS := $(DM_SRCS:%.c=$(BUILD)/%.o)
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/%.o)
PROTO_C := $(PROTOS:proto/%.proto=$(BUILD)/proto/%.pb-c.c)
PROTO_H := $(PROTO_C:.c=.h)
PROTO_OBJS := $(PROTO_C:.c=.o)
USP_OBJS := $(USP_SRCS:%.c=$(BUILD)/%.o)
CWMP_OBJS := $(CWMP_SRCS:%.c=$(BUILD)/%.o)
MAP_OBJS := $(MAP_SRCS:%.c=$(BUILD)/%.o)
CTL_OBJS := $(CTL_SRCS:%.c=$(BUILD)/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
DEPS_STAMP := $(BUILD)/.deps-ok

.DEFAULT_GOAL := all

# The CWMP SOAP codec generated from wsdl/ (gSOAP).
include cwmp/codec_gen.mk

.PHONY: all run test unit bench fuzz deps clean
# generated bindings are kept, not deleted as intermediates
.SECONDARY: $(PROTO_C) $(PROTO_H)
all: $(BUILD)/duetd $(BUILD)/duetctl

deps: $(DEPS_STAMP)
$(DEPS_STAMP): tools/deps.sh
	@tools/deps.sh $@

$(BUILD)/%.o: %.c | $(DEPS_STAMP) $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

# USP bindings: generated from our proto/ files at build time, never committed.
$(BUILD)/proto/%.pb-c.c $(BUILD)/proto/%.pb-c.h: proto/%.proto | $(DEPS_STAMP)
	@mkdir -p $(BUILD)/proto
	protoc-c --proto_path=proto --c_out=$(BUILD)/proto $<

$(PROTO_OBJS): %.o: %.c
	$(CC) $(filter-out -Wshadow,$(CFLAGS)) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/libduetdm.a: $(DM_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libduetcore.a: $(CORE_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libduetusp.a: $(USP_OBJS) $(PROTO_OBJS)
	@rm -f $@
	ar rcs $@ $^

# The CWMP front end with its codec and the gSOAP serialisers.
$(BUILD)/libduetcwmp.a: $(CWMP_OBJS) $(CWMP_CODEC_OBJ) $(CWMP_GEN_OBJS)
	@rm -f $@
	ar rcs $@ $^

# Every CWMP<->USP rule: called by both front ends, calls the engine.
$(BUILD)/libduetmap.a: $(MAP_OBJS) | $(DEPS_STAMP)
	@rm -f $@
	ar rcs $@ $(MAP_OBJS)

FRONT_LIBS := $(BUILD)/libduetcwmp.a $(BUILD)/libduetusp.a $(BUILD)/libduetmap.a
ENGINE_LIBS := $(BUILD)/libduetcore.a $(BUILD)/libduetdm.a

$(BUILD)/duetd: $(BUILD)/core/main.o $(FRONT_LIBS) $(ENGINE_LIBS)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CWMP_GEN_LIBS) -lm

$(BUILD)/duetctl: $(CTL_OBJS) $(BUILD)/libduetmap.a $(BUILD)/libduetcore.a $(BUILD)/libduetdm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(BUILD)/tests/%: tests/unit/%.c $(FRONT_LIBS) $(ENGINE_LIBS) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Itests/unit -o $@ $< $(FRONT_LIBS) $(ENGINE_LIBS) \
		$(PKG_LIBS) $(CWMP_GEN_LIBS) $(CMOCKA_LIBS) -lm

# The USP bench builds Controller requests with the generated code, which
# libduetusp.a carries (only the proto objects are pulled in).
$(BUILD)/duetbench: $(BENCH_SRCS) $(wildcard tests/bench/*.h) $(PROTO_H) $(FRONT_LIBS) \
		$(ENGINE_LIBS) | $(DEPS_STAMP)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $(BENCH_SRCS) $(FRONT_LIBS) $(ENGINE_LIBS) \
		$(PKG_LIBS) $(CWMP_GEN_LIBS) -lm

# Embedded defaults: state in ./var, bundled schema and factory defaults.
run: all
	$(BUILD)/duetd --state var --defaults datamodel/factory-defaults.txt \
		--schema datamodel/device2.xml --admin var/duetd.sock

unit: $(UNIT_BINS) $(CWMP_TEST_BIN)

test: all $(UNIT_BINS) $(CWMP_TEST_BIN)
	@SHARED=$(SHARED) BUILD=$(BUILD) sh tests/run.sh

bench: all $(BUILD)/duetbench
	@SHARED=$(SHARED) BUILD=$(BUILD) $(BUILD)/duetbench

# Coverage-guided fuzzing of the parsers (clang, libFuzzer, ASan+UBSan):
# each target runs FUZZ_SECONDS from the seeds in tests/fuzz/seeds.
FUZZ_SECONDS ?= 30
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
fuzz: | $(DEPS_STAMP)
	@mkdir -p $(BUILD)/fuzz
	@for t in $(FUZZ_TARGETS); do \
		clang -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -Idatamodel \
			$(PKG_CFLAGS) tests/fuzz/$$t.c $(DM_SRCS) -o $(BUILD)/fuzz/$$t $(PKG_LIBS) -lm || exit 1; \
		mkdir -p $(BUILD)/fuzz/corpus-$$t; \
		echo "== $$t ($(FUZZ_SECONDS) s)"; \
		$(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			$(BUILD)/fuzz/corpus-$$t tests/fuzz/seeds/$$t 2>&1 | grep -E '^(stat::number_of_executed_units|==|SUMMARY|.*ERROR)' \
			|| true; \
		[ -z "$$(ls $(BUILD)/fuzz/crash-* 2>/dev/null)" ] || { echo "fuzz: crash in $$t"; exit 1; }; \
	done

clean:
	rm -rf $(BUILD)

-include $(DM_OBJS:.o=.d) $(CORE_OBJS:.o=.d) $(CTL_OBJS:.o=.d) $(USP_OBJS:.o=.d) $(BUILD)/core/main.d \
	$(CWMP_OBJS:.o=.d) $(CWMP_CODEC_OBJ:.o=.d) $(MAP_OBJS:.o=.d) $(UNIT_BINS:=.d)
