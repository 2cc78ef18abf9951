"""Baton's Python test kit: what the chaos, REST and browser suites and the
peers' benchmarks share (servers, nodes, waits, child processes, Redis key
names). Standard library only, found through sys.path (see ../README.md),
so that no venv has to install it."""
