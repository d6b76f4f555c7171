# tfgan_suite: `make test` and `make train VARIANT=name` work from a clean clone.
# The first call creates .venv, installs the package with its test extra and, when run as
# root, the Debian package with the Fashion-MNIST files.

VENV    ?= .venv
PY      := $(VENV)/bin/python
VARIANT ?= dcgan
ARGS    ?=
PYTEST_ARGS ?=
STAMP   := $(VENV)/.installed-stamp
FASHION_DIR := /usr/share/datasets/fashion-mnist

.PHONY: install data test test-slow train tensorboard benchmark quality clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV) || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv && python3 -m venv $(VENV); \
	  else echo "error: python3 -m venv failed; install python3-venv (sudo apt-get install python3-venv)" >&2; exit 1; fi; }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@$(MAKE) --no-print-directory data
	@touch $(STAMP)

# Fashion-MNIST from Debian (offline-friendly); without root, say how.
data:
	@if [ -f $(FASHION_DIR)/train-images-idx3-ubyte.gz ]; then \
	  echo "Fashion-MNIST: $(FASHION_DIR)"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; \
	else \
	  echo "note: Fashion-MNIST is not installed. Run 'sudo apt-get install dataset-fashion-mnist'," \
	       "or pass --data_dir=DIR with its IDX files, or let TFDS download it (needs network)."; \
	fi

test: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m pytest -q $(PYTEST_ARGS)

test-slow: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m pytest -q -m slow $(PYTEST_ARGS)

train: $(STAMP)
	$(PY) train.py --variant=$(VARIANT) $(ARGS)

tensorboard: $(STAMP)
	$(VENV)/bin/tensorboard --logdir runs

benchmark: $(STAMP)
	$(PY) benchmarks/throughput.py --variant=$(VARIANT) $(ARGS)

# Every variant for a fixed budget; rewrites the quality tables in benchmarks/README.md.
quality: $(STAMP)
	$(PY) benchmarks/quality.py $(ARGS)

clean:
	rm -rf $(VENV) *.egg-info build dist
