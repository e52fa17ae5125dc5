#!/usr/bin/env python3
"""Appends lines from log files (plain, .gz, or every member of a .zip) to a growing
file at a steady rate, so that `aegis run` (which follows the file) shows alerts
arriving as they would live.

  replay.py OUT RATE_PER_SECOND INPUT [INPUT...]
"""
import gzip
import io
import sys
import time
import zipfile


def open_lines(path):
    """Yields the text lines of a plain, gzip or zip file."""
    if path.endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                with z.open(name) as member:
                    yield from io.TextIOWrapper(member, encoding="utf-8", errors="replace")
        return
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:
        yield from f


out_path, rate, inputs = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
batch = max(1, int(rate / 10))
with open(out_path, "a") as out:
    for path in inputs:
        n = 0
        for line in open_lines(path):
            if line.startswith("#"):
                continue  # JSON inputs have none; TSV headers are not replayed
            if not line.endswith("\n"):
                line += "\n"
            out.write(line)
            n += 1
            if n % batch == 0:
                out.flush()
                time.sleep(0.1)
        out.flush()
