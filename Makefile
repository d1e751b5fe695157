# ebpftrace — one entry point: make, make run, make test, make bench, make deps
# V=1 for verbose builds.

CLANG    ?= clang
CC       ?= cc
BPFTOOL  ?= bpftool
PROTOC_C ?= protoc-c
ARCH     := $(shell uname -m | sed 's/aarch64/arm64/')
BPF_ARCH := $(shell uname -m | sed 's/x86_64/x86/; s/aarch64/arm64/')
BUILD    ?= build
CACHE    ?= $(HOME)/.cache/ebpftrace

ifeq ($(V),1)
Q :=
else
Q := @
endif

WARN     := -Wall -Wextra -Werror
CFLAGS   ?= -O2 -g
override CFLAGS += -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -Iuser -I$(BUILD)
LDLIBS   := -lbpf -lelf -lz -lcurl -lprotobuf-c -lyaml -lcjson -lmicrohttpd -lpthread

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
PROTOS    := $(wildcard user/proto/*.proto)
PROTO_C   := $(patsubst user/proto/%.proto,$(BUILD)/%.pb-c.c,$(PROTOS))
PROTO_OBJ := $(PROTO_C:.c=.o)
USER_SRCS := $(wildcard user/*.c)
USER_OBJS := $(patsubst user/%.c,$(BUILD)/user/%.o,$(USER_SRCS))
LIB_OBJS  := $(filter-out $(BUILD)/user/main.o,$(USER_OBJS)) $(PROTO_OBJ)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all clean deps run test test-unit test-asan test-fuzz test-py bench check-deps \
	install image
all: $(BUILD)/ebpftrace

$(BUILD) $(BUILD)/user $(BUILD)/tests:
	$(Q)mkdir -p $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(wildcard include/*.h bpf/*.h) vmlinux/vmlinux_$(ARCH).h | $(BUILD)
	@echo "  BPF   $@"
	$(Q)cp vmlinux/vmlinux_$(ARCH).h $(BUILD)/vmlinux.h
	$(Q)$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(BPF_ARCH) -D__BPF__ \
		-Iinclude -Ibpf -I$(BUILD) -c $< -o $@
	$(Q)llvm-strip -g $@ 2>/dev/null || true

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	@echo "  SKEL  $@"
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(BUILD)/%.pb-c.c $(BUILD)/%.pb-c.h: user/proto/%.proto | $(BUILD)
	@echo "  PROTO $<"
	$(Q)$(PROTOC_C) --proto_path=user/proto --c_out=$(BUILD) $<

$(BUILD)/%.pb-c.o: $(BUILD)/%.pb-c.c
	$(Q)$(CC) -O2 -g -I$(BUILD) -c $< -o $@

# Generated protobuf-c sources are not intermediates: keep them, so that
# make does not delete and regenerate them (and rebuild everything) each run.
.SECONDARY: $(PROTO_C) $(PROTO_C:.c=.h)

$(BUILD)/user/%.o: user/%.c $(wildcard user/*.h include/*.h) $(SKELS) $(PROTO_C) | $(BUILD)/user
	@echo "  CC    $@"
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/ebpftrace: $(USER_OBJS) $(PROTO_OBJ)
	@echo "  LD    $@"
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

# ---- tests -----------------------------------------------------------------
# tests/unit/fake_http.c: the exporters' fault-injection backend (test_otlp,
# test_loki): built once, linked into every unit test; the others leave it
# unused.
UNIT_HELPERS := $(BUILD)/tests/fake_http.o
$(BUILD)/tests/fake_http.o: tests/unit/fake_http.c tests/unit/fake_http.h | $(BUILD)/tests
	$(Q)$(CC) $(CFLAGS) -Itests/unit -c $< -o $@
$(BUILD)/tests/test_%: tests/unit/test_%.c $(UNIT_HELPERS) tests/unit/fake_http.h $(LIB_OBJS) | $(BUILD)/tests
	@echo "  TEST  $@"
	$(Q)$(CC) $(CFLAGS) -Itests/unit $< $(UNIT_HELPERS) $(LIB_OBJS) -o $@ $(LDLIBS) -lcmocka

# OTLP encode+gzip throughput (tests/bench/run.sh calls it).
$(BUILD)/otlp_bench: tests/bench/otlp_bench.c $(LIB_OBJS) | $(BUILD)
	@echo "  BENCH $@"
	$(Q)$(CC) $(CFLAGS) $< $(LIB_OBJS) -o $@ $(LDLIBS)

# Log path driver for tests/e2e/test_loki_push.py: stdin -> assembler -> Loki.
$(BUILD)/loki_push_driver: tests/tools/loki_push_driver.c $(LIB_OBJS) | $(BUILD)
	@echo "  TOOL  $@"
	$(Q)$(CC) $(CFLAGS) $< $(LIB_OBJS) -o $@ $(LDLIBS)

# Kubernetes API client driver for tests/k8s: prints the pods it sees.
$(BUILD)/k8s_driver: tests/tools/k8s_driver.c $(LIB_OBJS) | $(BUILD)
	@echo "  TOOL  $@"
	$(Q)$(CC) $(CFLAGS) $< $(LIB_OBJS) -o $@ $(LDLIBS)

# Verified instructions per loaded program, for tests/bpf/test_verifier_budget.py.
$(BUILD)/prog_insns: tests/tools/prog_insns.c | $(BUILD)
	@echo "  TOOL  $@"
	$(Q)$(CC) $(CFLAGS) $< -o $@ -lbpf

test-unit: $(UNIT_BINS)
	$(Q)fail=0; for t in $(UNIT_BINS); do echo "== $$t"; $$t || fail=1; done; exit $$fail

# Unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		test-unit

# libFuzzer targets (clang), each run for a bounded time on its seed corpus.
# A target links only the sources listed in FUZZ_DEPS_<name> (and libraries
# in FUZZ_LIBS_<name>), all compiled with coverage and sanitizers, so it
# needs none of the program's other libraries. Crashes land in $(FUZZ_BUILD).
FUZZ_SECONDS ?= 30
FUZZ_BUILD   ?= build-fuzz
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRCS))
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -O1 -g $(WARN) -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-Iinclude -Iuser -I$(FUZZ_BUILD)/pb
FUZZ_DEPS_fuzz_http := user/http_parser.c user/utf8.c user/route.c user/traceparent.c \
	user/span.c user/proxy_proto.c
FUZZ_DEPS_fuzz_logs := user/logs.c user/htab.c user/utf8.c
FUZZ_DEPS_fuzz_boot_name := user/boot_name.c
FUZZ_DEPS_fuzz_spring_config := user/spring_config.c
FUZZ_LIBS_fuzz_spring_config := -lyaml
FUZZ_DEPS_fuzz_jar_routes := user/jar_routes.c user/spring_config.c
FUZZ_LIBS_fuzz_jar_routes := -lz -lyaml
FUZZ_DEPS_fuzz_cgroup := user/cgroup.c
FUZZ_DEPS_fuzz_tcp_table := user/tcp_table.c
FUZZ_DEPS_fuzz_tls_maps := user/tls.c
FUZZ_LIBS_fuzz_tls_maps := -lelf
FUZZ_DEPS_fuzz_grpc := user/grpc.c user/cri_map.c user/kv.c user/htab.c \
	$(FUZZ_BUILD)/pb/cri_api.pb-c.c
FUZZ_LIBS_fuzz_grpc := -lprotobuf-c
FUZZ_DEPS_fuzz_k8s := user/k8s_parse.c user/k8s_config.c user/kv.c
FUZZ_DEPS_fuzz_selector := user/selector.c user/kv.c
FUZZ_LIBS_fuzz_k8s := -lcjson -lyaml
FUZZ_DEPS_fuzz_k8s_events := user/k8s_events_parse.c user/k8s_parse.c \
	user/kv.c
FUZZ_LIBS_fuzz_k8s_events := -lcjson
FUZZ_DEPS_fuzz_remote := user/remote_pod.c
FUZZ_LIBS_fuzz_remote := -lcjson
FUZZ_DEPS_fuzz_config := user/options.c user/cgroup.c user/selector.c \
	user/kv.c user/metrics.c user/sampler.c user/htab.c
FUZZ_LIBS_fuzz_config := -lyaml -lcurl
# The whole pipeline behind the ring buffer: it links everything but main.c.
FUZZ_PROTO_C := $(patsubst user/proto/%.proto,$(FUZZ_BUILD)/pb/%.pb-c.c,$(PROTOS))
FUZZ_DEPS_fuzz_events := $(filter-out user/main.c,$(USER_SRCS)) \
	$(FUZZ_PROTO_C) -I$(BUILD)
FUZZ_LIBS_fuzz_events := $(LDLIBS)

# Generated protobuf-c sources a fuzz target links (FUZZ_DEPS above).
$(FUZZ_BUILD)/pb/%.pb-c.c: user/proto/%.proto
	$(Q)mkdir -p $(FUZZ_BUILD)/pb
	$(Q)$(PROTOC_C) --proto_path=user/proto --c_out=$(FUZZ_BUILD)/pb $<
$(FUZZ_BUILD)/fuzz_grpc: $(FUZZ_BUILD)/pb/cri_api.pb-c.c
$(FUZZ_BUILD)/fuzz_events: $(FUZZ_PROTO_C) $(SKELS)

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_check.h $(wildcard user/*.c user/*.h include/*.h)
	$(Q)mkdir -p $(FUZZ_BUILD)
	@echo "  FUZZ  $@"
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $< $(FUZZ_DEPS_fuzz_$*) -o $@ $(FUZZ_LIBS_fuzz_$*)

test-fuzz: $(FUZZ_BINS)
	$(Q)set -e; for f in $(FUZZ_SRCS); do n=$$(basename $$f .c); \
		mkdir -p $(FUZZ_BUILD)/corpus-$$n; \
		echo "== fuzz $$n for $(FUZZ_SECONDS)s"; \
		$(FUZZ_BUILD)/$$n -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
			-timeout=10 -artifact_prefix=$(FUZZ_BUILD)/$$n- \
			$(FUZZ_BUILD)/corpus-$$n tests/fuzz/corpus/$$n; done

PYTEST ?= python3 -m pytest
test-py: all $(BUILD)/k8s_driver $(BUILD)/prog_insns
	$(Q)$(PYTEST) -v tests/bpf tests/e2e tests/deploy tests/containers \
		tests/k8s tests/bench/test_bench_parsing.py

# The whole suite, as CI runs it.
test: deps all test-unit test-asan test-fuzz test-py

# ---- run / bench / deps ------------------------------------------------------
run: deps all
	$(Q)tests/demo/run-demo.sh

bench: deps all $(BUILD)/otlp_bench
	$(Q)tests/bench/run.sh

deps:
	$(Q)tools=1; ./tests/deps.sh

# ebpftrace, and kubectl-ebpftrace (a symlink) so that kubectl finds it as
# a plugin: kubectl ebpftrace attach <pod> -n <ns>.
PREFIX ?= /usr/local
install: $(BUILD)/ebpftrace
	$(Q)install -d $(DESTDIR)$(PREFIX)/bin
	$(Q)install -m 0755 $(BUILD)/ebpftrace $(DESTDIR)$(PREFIX)/bin/ebpftrace
	$(Q)ln -sf ebpftrace $(DESTDIR)$(PREFIX)/bin/kubectl-ebpftrace

# The container image as an OCI archive (deploy/image/build.py): load it
# with ctr, or push it with skopeo; docs/deployment.md.
IMAGE ?= docker.io/library/ebpftrace:0.1.0
image: $(BUILD)/ebpftrace
	$(Q)python3 deploy/image/build.py $(BUILD)/ebpftrace $(BUILD)/ebpftrace-image.tar $(IMAGE)

clean:
	rm -rf $(BUILD) build-asan build-fuzz

# docs/configuration.md is generated from the options table.
$(BUILD)/gen_config_doc: tests/tools/gen_config_doc.c $(LIB_OBJS)
	$(Q)$(CC) $(CFLAGS) $< $(LIB_OBJS) -o $@ $(LDLIBS)

docs: $(BUILD)/gen_config_doc
	$(Q)$< > docs/configuration.md
.PHONY: docs

# Keep generated skeletons and BPF objects between runs.
.SECONDARY: $(SKELS) $(BPF_OBJS)
