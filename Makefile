# Every target installs what it needs into a local virtualenv first (idempotent: re-installs only when
# pyproject.toml or the lock file changes). Needs only Python >= 3.11 with pip and venv.
#
# .venv (demo, test) installs the exact versions last tested (requirements/lock.txt) as pip constraints, so a fresh
# clone gets what CI ran. test-lowest runs the suite on the lowest versions pyproject.toml allows
# (requirements/lowest.txt), test-newest on whatever pip resolves today; `make lock` then records those newest versions.
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed
LOCK := requirements/lock.txt
LOWEST := requirements/lowest.txt
PYTEST_ARGS ?= -q
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false
# DeepSpeed (ZeRO tests on 2 CPU processes) installs without compiling its ops; they JIT-build on first use.
export DS_BUILD_OPS ?= 0

.PHONY: install demo test browser test-lowest test-newest lock bench-scst clean

define make_venv
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "hf_vidcap needs Python >= 3.11")'
	$(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install --quiet --upgrade pip
endef

$(STAMP): pyproject.toml $(LOCK)
	$(call make_venv,$(VENV))
	$(VENV)/bin/python -m pip install --quiet -c $(LOCK) -e '.[dev]'
	touch $(STAMP)

.venv-lowest/.installed: pyproject.toml $(LOWEST)
	$(call make_venv,.venv-lowest)
	.venv-lowest/bin/python -m pip install --quiet -c $(LOWEST) -e '.[dev]'
	touch $@

install: $(STAMP)

# The main job on the offline default: synthetic shapes world, tiny BLIP-2 video model, XE warm-up, SCST,
# evaluation, checkpoint, before/after table.
demo: $(STAMP)
	$(VENV)/bin/python -m hf_vidcap.models.tiny_checkpoints video_blip2 outputs/tiny_video_blip2_shapes \
		--num_frames 8 --frame_differences append
	$(VENV)/bin/accelerate launch --config_file recipes/accelerate_configs/cpu.yaml \
		recipes/blip2_msrvtt_scst.py --config recipes/configs/blip2/shapes_tiny_scst.yaml

test: $(STAMP) browser
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# The demo Space's browser test needs Debian's chromium + chromium-driver: installed here when this runs as root
# with apt-get (CI's fresh machine); elsewhere the test skips and says so (apt-get install -y chromium chromium-driver).
browser:
	@command -v chromedriver >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		echo "installing chromium + chromium-driver for the Space's browser test (apt-get)" && \
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } || \
		echo "no chromedriver: the Space's browser test will skip (apt-get install -y chromium chromium-driver)"

# The suite on the lowest allowed version of every dependency.
test-lowest: .venv-lowest/.installed
	.venv-lowest/bin/python -m pip list --format=freeze | grep -iE '^(torch|transformers|trl|peft|datasets|accelerate)=='
	.venv-lowest/bin/python -m pytest $(PYTEST_ARGS)

# The suite on the newest versions pip resolves today (re-resolved on every run).
test-newest:
	$(call make_venv,.venv-newest)
	.venv-newest/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e '.[dev]'
	.venv-newest/bin/python -m pip list --format=freeze | grep -iE '^(torch|transformers|trl|peft|datasets|accelerate)=='
	.venv-newest/bin/python -m pytest $(PYTEST_ARGS)

# Record the versions test-newest just ran as the ones `make test` and `make demo` install.
lock:
	test -x .venv-newest/bin/python || (echo "run make test-newest first" && exit 1)
	(echo "# Exact versions last tested (make test-newest, then make lock). Installed as pip constraints by make install."; \
	 .venv-newest/bin/python -m pip freeze --exclude-editable | grep -v '^-e ') > $(LOCK)

bench-scst: $(STAMP)
	$(VENV)/bin/python benchmarks/scst_vs_xe.py

clean:
	rm -rf outputs data/shapes .venv-lowest .venv-newest
