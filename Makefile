# The two commands of the README: `make demo` runs the main job, `make test` runs every check
# (the docs build included). Both create .venv on first use; PIP_CONSTRAINT keeps torch on the
# local CPU build. `make docs` builds the docs site into site/.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PIP_CONSTRAINT := $(CURDIR)/constraints.txt

$(BIN)/.installed: pyproject.toml constraints.txt Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev,ray,multiagent,tensorboard,docs,video,box2d,atari,minatar]'
	touch $@

.PHONY: install demo actors-demo test lint docs bench
install: $(BIN)/.installed

# The main job: Ape-X DQN with 2 workers trains CartPole-v1 to a greedy mean return of 475
# (--overwrite: each demo replaces the last one's run directory instead of being refused).
demo: install
	$(BIN)/rlactors train apex --env CartPole-v1 --workers 2 --stop-reward 475 --run-dir runs/apex-demo --overwrite

actors-demo: install
	$(BIN)/python examples/actors_demo.py

lint: install
	$(BIN)/ruff check src tests benchmarks examples docs/griffe_sphinx_roles.py
	$(BIN)/ruff format --check src tests benchmarks examples docs/griffe_sphinx_roles.py
	$(BIN)/mypy src

# --strict: a broken link or anchor, a missing example file or a docstring griffe cannot read
# (a parameter documented that the signature does not have) fails the build. ~5 s.
# NO_MKDOCS_2_WARNING: silences mkdocs-material's banner about its end of life, which is not
# a warning of this build.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

test: lint docs
	$(BIN)/pytest

bench: install
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/actor_calls.py
	$(BIN)/python benchmarks/replay.py
	$(BIN)/python benchmarks/dqn_cartpole.py
	$(BIN)/python benchmarks/apex_cartpole.py
	$(BIN)/python benchmarks/apex_throughput.py
	$(BIN)/python benchmarks/ppo_cartpole.py
	$(BIN)/python benchmarks/a2c_cartpole.py
	$(BIN)/python benchmarks/a3c_cartpole.py
	$(BIN)/python benchmarks/impala_cartpole.py
	$(BIN)/python benchmarks/impala_throughput.py
	$(BIN)/python benchmarks/structured_obs.py
