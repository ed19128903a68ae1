# gpuhub build. Sources are found by wildcard, so a new module needs no edit here.
#   make            release build: build/gpuhub
#   make SAN=1      ASan+UBSan+LSan build in build-san/
#   make unit       build and run every cmocka unit test
#   make test       unit tests, then integration tests against the real daemon
CC      ?= cc
PKGS    := libh2o-evloop jansson sqlite3 libcyaml libsodium libcrypto libcurl libarchive
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wstrict-prototypes -Wshadow \
           -Wno-unused-parameter -Isrc -D_GNU_SOURCE -DH2O_USE_LIBUV=0 \
           $(shell pkg-config --cflags $(PKGS))
# wslay (WebSocket framing, under h2o's websocket API): its -dev package
# may be missing; the runtime library always comes with libh2o-evloop
WSLAY   := $(shell pkg-config --libs libwslay 2>/dev/null || echo -l:libwslay.so.1)
LDLIBS  += $(shell pkg-config --libs $(PKGS)) $(WSLAY) -ldl -lm -lpthread
ifeq ($(SAN),1)
BUILD   ?= build-san
CFLAGS  += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
export ASAN_OPTIONS ?= detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS ?= suppressions=$(abspath tests/lsan.supp)
else
BUILD   ?= build
endif

SRCS      := $(shell find src -name '*.c' ! -path src/main.c | sort)
OBJS      := $(SRCS:%.c=$(BUILD)/%.o)
TEST_SRCS := $(sort $(wildcard tests/unit/test_*.c))
TESTS     := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all unit test integration clean mod-test
all: $(BUILD)/gpuhub

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libgpuhub.a: $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/gpuhub: $(BUILD)/src/main.o $(BUILD)/libgpuhub.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libgpuhub.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libgpuhub.a $(LDLIBS) -lcmocka

unit: $(TESTS)
	@fail=0; for t in $(TESTS); do echo "== $$t"; $$t || fail=1; done; exit $$fail

integration: $(BUILD)/gpuhub
	GPUHUB_BIN=$(abspath $(BUILD)/gpuhub) /usr/bin/python3 -m pytest -q tests/integration

# browser tests of the web page (playwright-core driving /usr/bin/chromium)
.PHONY: browser
browser: $(BUILD)/gpuhub
	GPUHUB_BIN=$(abspath $(BUILD)/gpuhub) node --test tests/browser/

test: unit integration browser

clean:
	rm -rf build build-san

-include $(OBJS:.o=.d) $(BUILD)/src/main.d

# Build and run one unit test against only some source folders, so work in
# progress elsewhere in the tree cannot break it:
#   make mod-test TEST=test_store DIRS="src/common src/store"
mod-test:
	@mkdir -p $(BUILD)/mod
	$(CC) $(CFLAGS) $(LDFLAGS) -o $(BUILD)/mod/$(TEST) tests/unit/$(TEST).c \
	  $(shell find $(DIRS) -name '*.c' ! -path src/main.c) $(LDLIBS) -lcmocka
	$(BUILD)/mod/$(TEST)

# the OpenAPI document is embedded with .incbin
$(BUILD)/src/api/api_openapi.o: src/api/openapi.json
$(BUILD)/src/api/api_web.o: web/index.html web/app.js web/usage.js web/style.css
$(BUILD)/src/hub/hub_kgpu_launcher.o: src/hub/kernel_launcher.py
