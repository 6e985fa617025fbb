# Benchmarks (bench/README.md). Generated days live in bench/data/ (gitignored) and are
# reused; the tables go to stdout and bench/results.json.
#   make bench                        1M, 10M and 30M records (generates once, ~16 min the first time)
#   make bench SIZES=1M,10M RUNS=3    other sizes / at most 3 runs per figure
#   make bench BENCH_ARGS=--profile   also profile the rollup build (bench/data/<size>/profile-*)
#   make bench-smoke                  the harness end to end on a small day (results in bench/data/)

SIZES ?= 1M,10M,30M
RUNS ?= 5
BENCH_ARGS ?=
BENCH_SMOKE_SIZE ?= 100k

.PHONY: bench bench-smoke bench-clean bench-org

bench: venv chromium  ## benchmarks: queries, pandas baseline, charts, whole run, Athena scan (SIZES=1M,10M,30M)
	$(BIN)/python -m bench.run --sizes $(SIZES) --runs $(RUNS) $(BENCH_ARGS)
	$(BIN)/python -m bench.small_files --runs $(RUNS)

bench-smoke: venv chromium  ## the benchmark harness end to end on a small day (BENCH_SMOKE_SIZE=100k)
	$(BIN)/python -m bench.run --sizes $(BENCH_SMOKE_SIZE) --runs 1 --chart-passes 1 \
		--results bench/data/results-smoke.json $(BENCH_ARGS)

bench-clean:  ## remove the generated benchmark days (bench/data)
	rm -rf bench/data

bench-org: venv  ## an organisation's day: 10M and 100M records over 60 account/Region prefixes (bench/org.py)
	$(BIN)/python -m bench.org
