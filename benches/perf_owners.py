"""Where a `perf record --call-graph dwarf` profile of the trainer spends its samples: each
sample is given to the innermost `ttfs_trainer::` or `candle_core::` function on its stack
(closures to the function around them), so inlined kernels count where they are called.

    perf record -F 199 --call-graph dwarf,16384 -o cnn.data ttfs --threads 1 train --arch cnn -T 2 --bench 8
    python benches/perf_owners.py cnn.data
"""

import collections
import re
import subprocess
import sys

data = sys.argv[1]
out = subprocess.run(["perf","script","-i",data,"-F","comm,tid,ip,sym"], capture_output=True, text=True).stdout
samples = re.split(r"\n\s*\n", out)
owner = collections.Counter(); total = 0
def short(sym):
    sym = re.sub(r"<[^<>]*>", "", sym)
    sym = re.sub(r"<[^<>]*>", "", sym)
    return sym.strip()
for s in samples:
    lines = [l.strip() for l in s.strip().split("\n")[1:] if l.strip()]
    if not lines: continue
    total += 1
    frames = [l.split(None,1)[1] if len(l.split(None,1))>1 else l for l in lines]
    who = None
    for f in frames:
        m = re.search(r"(ttfs_trainer::[A-Za-z0-9_:]+|candle_core::[A-Za-z0-9_:]+)", f)
        if m and "closure" not in m.group(1):
            who = m.group(1); break
    leaf = short(frames[0])[:60]
    owner[who or ("leaf:"+leaf)] += 1
for k, v in owner.most_common(int(sys.argv[2]) if len(sys.argv) > 2 else 30):
    print(f"{100*v/total:5.1f}%  {k}")
print(total, "samples")
