#!/usr/bin/env python3
"""Writes TAXII 2.1 envelopes of STIX 2.1 indicators built from real maltrail trails.

    gen_stix.py TRAILS_DIR OUT_DIR --count 1000000 --batch 1000

Each envelope (OUT_DIR/envelope-000000.json ...) holds `batch` indicator objects with
a pattern for the trail's value (domain, IPv4, URL), the trail's name as label and
description, and a TLP marking mix close to a national feed: 60% GREEN, 25% CLEAR,
12% AMBER, 3% AMBER+STRICT (TLP 2.0 marking-definition ids). Ids are UUIDv5 of the
value, so the same input gives the same objects. Used by bench/run.sh section 5.
"""
import argparse
import ipaddress
import json
import os
import uuid

NAMESPACE = uuid.UUID("6f1c3e52-3b0f-4c59-9a57-3a2d52d1c0de")
TLP = {  # TLP 2.0 marking-definition ids (OASIS extension)
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
}


def values(trails):
    for root, _, files in os.walk(trails):
        for name in sorted(files):
            if not name.endswith(".txt"):
                continue
            label = name[:-4]
            with open(os.path.join(root, name), encoding="utf-8", errors="replace") as f:
                for line in f:
                    v = line.split("#", 1)[0].strip()
                    if v and " " not in v and "'" not in v and "\\" not in v:
                        yield label, v


def pattern(v):
    try:
        ip = ipaddress.ip_address(v)
        return f"[ipv{ip.version}-addr:value = '{v}']"
    except ValueError:
        pass
    if "/" in v or ":" in v:
        return f"[url:value = '{v}']"
    return f"[domain-name:value = '{v}']"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trails")
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=1000)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    batch, n, files = [], 0, 0
    seen = set()

    def flush():
        nonlocal batch, files
        with open(os.path.join(a.out, f"envelope-{files:06d}.json"), "w") as f:
            json.dump({"objects": batch}, f, separators=(",", ":"))
        files += 1
        batch = []

    for label, v in values(a.trails):
        if n >= a.count:
            break
        if v in seen:
            continue
        seen.add(v)
        r = n % 100
        tlp = "green" if r < 60 else "clear" if r < 85 else "amber" if r < 97 else "amber+strict"
        ts = f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:{(n // 60) % 60:02d}.{n % 1000:03d}Z"
        batch.append({
            "type": "indicator", "spec_version": "2.1",
            "id": f"indicator--{uuid.uuid5(NAMESPACE, v)}",
            "created": ts, "modified": ts,
            "name": f"{label}: {v}", "description": f"maltrail trail {label}",
            "indicator_types": ["malicious-activity"],
            "pattern": pattern(v), "pattern_type": "stix", "valid_from": ts,
            "labels": [label], "confidence": 50 + n % 50,
            "object_marking_refs": [TLP[tlp]],
        })
        n += 1
        if len(batch) == a.batch:
            flush()
    if batch:
        flush()
    print(f"{n} indicators in {files} envelopes")


if __name__ == "__main__":
    main()
