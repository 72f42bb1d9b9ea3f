#!/bin/bash
# Alternated training throughput: for each configuration, one binary of ttfs (BEFORE), another
# (AFTER), then the PyTorch loop of benches/pytorch_ttfs.py, the whole list ROUNDS times, so
# that this VM's drift hits all three alike. Prints samples/s per run.
#
#   BEFORE=old/ttfs AFTER=target/release/ttfs PYTHON=venv/bin/python \
#     bash benches/alternate.sh 2 cnn:2:2:8 mlp:2:2:200 cnn:8:2:4 mlp:8:2:100
#
# A configuration is ARCH:T:THREADS:BATCHES. PYTHON needs torch; leave it unset to skip PyTorch.
set -euo pipefail
rounds=$1
shift
here=$(dirname "$0")
rate() { grep -o '[0-9]* training samples/s' | cut -d' ' -f1; }
for _ in $(seq "$rounds"); do
  for config in "$@"; do
    IFS=: read -r arch steps threads batches <<< "$config"
    line="$arch T=$steps threads=$threads"
    for name in BEFORE AFTER; do
      bin=${!name:-}
      [ -n "$bin" ] || continue
      line+=" $name=$("$bin" --threads "$threads" train --arch "$arch" -T "$steps" --bench "$batches" 2>&1 | rate)"
    done
    if [ -n "${PYTHON:-}" ]; then
      line+=" pytorch=$("$PYTHON" "$here/pytorch_ttfs.py" --arch "$arch" -T "$steps" --threads "$threads" --batches "$batches" 2>&1 | rate)"
    fi
    echo "$line"
  done
done
