# Every target installs what it needs into a local virtualenv first (idempotent: re-installs only when
# pyproject.toml changes). Needs only Python >= 3.10 with pip and venv.
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false
# DeepSpeed (ZeRO tests on 2 CPU processes) installs without compiling its ops; they JIT-build on first use.
export DS_BUILD_OPS ?= 0

.PHONY: install demo test bench-scst clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10) and "hf_vidcap needs Python >= 3.10")'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The main job on the offline default: synthetic shapes world, tiny BLIP-2 video model, XE warm-up, SCST,
# evaluation, checkpoint, before/after table.
demo: $(STAMP)
	$(VENV)/bin/accelerate launch --config_file recipes/accelerate_configs/cpu.yaml \
		recipes/blip2_msrvtt_scst.py --config recipes/configs/blip2/shapes_tiny_scst.yaml

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q

bench-scst: $(STAMP)
	$(VENV)/bin/python benchmarks/scst_vs_xe.py

clean:
	rm -rf outputs data/shapes
