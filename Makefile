# WhatsApp Cloud API backend: build, run and test.
#
#   make run     install what is missing, build, start everything, stay in the
#                foreground (Ctrl-C stops it all)
#   make test    the same set-up on free ports, with a sanitizer build, then
#                every test
#
# FLAVOR=release builds into bin/; FLAVOR=test (AddressSanitizer + UBSan) into
# build/test/bin/, so a test run never overwrites what `make start` runs.

FLAVOR	?= release
CC	?= gcc

ifeq ($(FLAVOR),test)
OUT	:= build/test
BINDIR	:= build/test/bin
XFLAGS	:= -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined
else
OUT	:= build/release
BINDIR	:= bin
XFLAGS	:= -O2 -g
endif

CFLAGS	+= -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
	   -Wmissing-prototypes -Wstrict-prototypes -Wno-format-truncation \
	   -Ishared \
	   -I/usr/include/postgresql -pthread -MMD -MP $(XFLAGS)
LDFLAGS	+= -pthread $(XFLAGS)
LIBS	:= -lfcgi -lpq -ljson-c -lcurl -lcrypto -ljwt -lsodium

SHARED_SRC := $(wildcard shared/*.c)
FCGI_SRC   := $(wildcard fcgi/*.c)
PUSHD_SRC  := $(wildcard pushd/*.c)
JOBD_SRC   := $(wildcard jobd/*.c)
WACTL_SRC  := $(wildcard wactl/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)

obj = $(patsubst %.c,$(OUT)/obj/%.o,$(1))
LIBWA	:= $(OUT)/libwa.a
# The responder's and wa-pushd's code without main(), for unit tests.
LIBFCGI	:= $(OUT)/libwafcgi.a
LIBPUSHD := $(OUT)/libwapushd.a
PROGS	:= $(BINDIR)/wa-fcgi $(BINDIR)/wa-pushd $(BINDIR)/wa-jobd \
	   $(BINDIR)/wactl \
	   $(BINDIR)/wa-hello
UNITS	:= $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(UNIT_SRC))

.PHONY: all build units deps run start stop status test unit e2e bench clean \
	pushstream install

# nginx's push-stream module, built for the installed nginx's version
# (scripts/build-pushstream.sh); scripts/stack.sh loads it from there.
# make run/start/bench build it unless WA_PUSH_MODULE=nchan; make test runs
# the real-time tests on both modules.
NGINX_VERSION = $(shell nginx -v 2>&1 | sed -n 's|^nginx version: nginx/||p')
PUSHSTREAM_SO = build/nginx/$(NGINX_VERSION)/ngx_http_push_stream_module.so
PUSH_BUILD = $(if $(filter nchan,$(WA_PUSH_MODULE)),,pushstream)

all: build

build: $(PROGS)

$(OUT)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIBWA): $(call obj,$(SHARED_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBFCGI): $(call obj,$(filter-out fcgi/main.c,$(FCGI_SRC)))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBPUSHD): $(call obj,$(filter-out pushd/pushd.c,$(PUSHD_SRC)))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BINDIR)/wa-fcgi: $(call obj,$(FCGI_SRC)) $(LIBWA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BINDIR)/wa-pushd: $(call obj,$(PUSHD_SRC)) $(LIBWA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BINDIR)/wa-jobd: $(call obj,$(JOBD_SRC)) $(LIBWA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BINDIR)/wactl: $(call obj,$(WACTL_SRC)) $(LIBWA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The benchmark ceiling: the smallest libfcgi responder there is.
$(BINDIR)/wa-hello: $(OUT)/obj/bench/hello.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lfcgi

# make bench's load generator, WebSocket subscribers and delayed Graph API.
$(BINDIR)/wa-bench: $(OUT)/obj/bench/bench.o $(OUT)/obj/shared/sig.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcrypto

$(OUT)/tests/test_%: tests/unit/test_%.c $(LIBFCGI) $(LIBPUSHD) $(LIBWA)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ifcgi -Ipushd -o $@ $< $(LIBFCGI) $(LIBPUSHD) \
	    $(LIBWA) $(LIBS) -lcmocka

units: $(UNITS)

pushstream: $(PUSHSTREAM_SO)

$(PUSHSTREAM_SO): scripts/build-pushstream.sh \
    $(wildcard nginx/patches/push-stream-*.patch)
	scripts/build-pushstream.sh $@

deps:
	@scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory build $(PUSH_BUILD)
	@WA_ENV=$${WA_ENV:-dev} scripts/stack.sh run

start: deps
	@$(MAKE) --no-print-directory build $(PUSH_BUILD)
	@WA_ENV=$${WA_ENV:-dev} scripts/stack.sh start

stop:
	@scripts/stack.sh stop

status:
	@scripts/stack.sh status

# Unit tests alone (no stack).
unit: deps
	@$(MAKE) --no-print-directory FLAVOR=test units
	@scripts/test.sh unit

test: deps
	@$(MAKE) --no-print-directory FLAVOR=test build units pushstream
	@$(MAKE) --no-print-directory fuzz
	@scripts/test.sh all

# Each security rule disabled in turn makes a test fail (tests/mutate.sh):
# a rebuild and a stack per rule, so not part of `make test` or CI.
.PHONY: test-mutate
test-mutate: deps
	@$(MAKE) --no-print-directory FLAVOR=test build
	@tests/mutate.sh

# libFuzzer on the multipart parser, on wa-pushd's reader of nginx's
# answers and on the webhook body reader of the batched ingest, for a
# bounded time: FUZZ_SECONDS in all, a third each (the rest to multipart;
# at least a second each, as 0 would mean no bound).
# clang builds each alone (no libwa.a: gcc's and clang's ASan do not mix);
# new inputs go to build/fuzz/corpus-<target>, the seeds stay as committed
# in tests/fuzz/seeds/<target>.
FUZZ_SECONDS ?= 20
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -Ishared \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_THIRD := $(shell n=$$(( $(FUZZ_SECONDS) / 3 )); echo $$(( n > 0 ? n : 1 )))
FUZZ_RELAY_SECONDS := $(FUZZ_THIRD)
FUZZ_WH_PARSE_SECONDS := $(FUZZ_THIRD)
FUZZ_MULTIPART_SECONDS := $(shell n=$$(( $(FUZZ_SECONDS) - \
	    2 * $(FUZZ_THIRD) )); echo $$(( n > 0 ? n : 1 )))

build/fuzz/fuzz_multipart: tests/fuzz/fuzz_multipart.c shared/multipart.c \
    shared/multipart.h shared/util.h
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_multipart.c \
	    shared/multipart.c

build/fuzz/fuzz_relay_reply: tests/fuzz/fuzz_relay_reply.c \
    pushd/relay_reply.c pushd/relay_reply.h shared/util.h
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -Ipushd -o $@ tests/fuzz/fuzz_relay_reply.c \
	    pushd/relay_reply.c

# json-c is a system library, not instrumented; util.c's allocators need
# OpenSSL and libsodium only to link.
build/fuzz/fuzz_wh_parse: tests/fuzz/fuzz_wh_parse.c shared/wh_parse.c \
    shared/wh_parse.h shared/util.c shared/util.h
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_wh_parse.c \
	    shared/wh_parse.c shared/util.c -ljson-c -lcrypto -lsodium

# fuzz-run,target,seconds
define fuzz-run
	@mkdir -p build/fuzz/corpus-$(1)
	build/fuzz/fuzz_$(1) -max_total_time=$(2) -dict=tests/fuzz/$(1).dict \
	    -print_final_stats=0 -artifact_prefix=build/fuzz/$(1)- \
	    build/fuzz/corpus-$(1) tests/fuzz/seeds/$(1) \
	    2>build/fuzz/$(1).log || { tail -40 build/fuzz/$(1).log; exit 1; }
	@tail -1 build/fuzz/$(1).log
endef

.PHONY: fuzz
fuzz: build/fuzz/fuzz_multipart build/fuzz/fuzz_relay_reply \
    build/fuzz/fuzz_wh_parse
	$(call fuzz-run,multipart,$(FUZZ_MULTIPART_SECONDS))
	$(call fuzz-run,relay_reply,$(FUZZ_RELAY_SECONDS))
	$(call fuzz-run,wh_parse,$(FUZZ_WH_PARSE_SECONDS))

# deps.sh --bench: also the seed stack's packages, when ../shared/peer exists.
bench:
	@scripts/deps.sh --bench
	@$(MAKE) --no-print-directory FLAVOR=release build bin/wa-bench \
	    $(PUSH_BUILD)
	@bench/run.sh

# Installs on a server (README: Install on a server): programs, schema,
# nginx snippets, /etc/wa-backend/wa.env, systemd units, logrotate.
# PREFIX (/usr/local), DESTDIR (a staging root), SYSCONFDIR (/etc),
# PUSH_MODULE (pushstream, built here; or Debian's nchan).
PREFIX		?= /usr/local
SYSCONFDIR	?= /etc
PUSH_MODULE	?= $(or $(WA_PUSH_MODULE),pushstream)

install: $(PROGS) $(if $(filter nchan,$(PUSH_MODULE)),,$(PUSHSTREAM_SO))
	@DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" SYSCONFDIR="$(SYSCONFDIR)" \
	    PUSH_MODULE="$(PUSH_MODULE)" PUSHSTREAM_SO="$(PUSHSTREAM_SO)" \
	    install/install.sh $(BINDIR)

clean:
	rm -rf bin build

-include $(shell find build -name '*.d' 2>/dev/null)
