#!/usr/bin/env python3
"""Appends lines from log files (plain or .gz) to a growing file at a steady rate, so
that `aegis run` (which follows the file) shows alerts arriving as they would live.

  replay.py OUT RATE_PER_SECOND INPUT [INPUT...]
"""
import gzip
import sys
import time

out_path, rate, inputs = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
batch = max(1, int(rate / 10))
with open(out_path, "a") as out:
    for path in inputs:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as f:
            n = 0
            for line in f:
                if line.startswith("#"):
                    continue  # JSON inputs have none; TSV headers are not replayed
                out.write(line)
                n += 1
                if n % batch == 0:
                    out.flush()
                    time.sleep(0.1)
        out.flush()
