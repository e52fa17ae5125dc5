#!/usr/bin/env python3
"""End to end: the Zeek dns and ssl logs of ../shared/data matched against the maltrail
trails plus tests/e2e/data/extra-indicators.txt must produce exactly the expected alerts.

The expected alerts are computed here, independently of Aegis, with plain Python:
  * indicators: every non-comment line of the trail files; IPs and ip:port lines are
    addresses, a/len lines are ranges, lines with '/' or ':' otherwise are URLs (no URL
    fields in these logs), the rest domains (lower-cased, trailing dot dropped);
    addresses that are not globally routable (Python's ipaddress.is_global) are dropped
  * an event matches a domain indicator when a DNS name field equals it or is a
    subdomain of it (the bare TLD is never looked up); an address field matches an
    exact address or the longest containing range; cert fingerprints match SHA-256
  * one alert per (event, indicator); de-duplication is off (--dedup-window 0)
Then `aegis scan` runs on the JSON logs and on the TSV logs of the same capture and
both must agree with the expectation: JSON alert by alert (file, line, indicator),
TSV by count per indicator. Exit 77 (ctest: skipped) when the shared data is absent.
"""
import argparse
import collections
import gzip
import ipaddress
import json
import os
import subprocess
import sys
import tempfile

ap = argparse.ArgumentParser()
ap.add_argument("--aegis", required=True)
ap.add_argument("--shared", required=True)
ap.add_argument("--extra", required=True)
args = ap.parse_args()

trails = os.path.join(args.shared, "intel/maltrail/trails/static")
zeek_json = os.path.join(args.shared, "events/zeek/zeek-json")
zeek_tsv = os.path.join(args.shared, "events/zeek/zeek-default")
if not (os.path.isdir(trails) and os.path.isdir(zeek_json) and os.path.isdir(zeek_tsv)):
    print(f"SKIPPED: shared data not found under {args.shared}")
    sys.exit(77)

domains, addresses, networks, hashes = set(), set(), [], set()


def add_indicator(token):
    token = token.strip()
    if not token:
        return
    try:
        if "/" in token and token.split("/")[0].count(".") == 3 and token.split("/")[1].isdigit():
            net = ipaddress.ip_network(token, strict=False)
            if net.is_global:
                networks.append(net)
            return
        host = token.rsplit(":", 1)[0] if token.count(":") == 1 else token
        ip = ipaddress.ip_address(host.strip("[]"))
        if ip.is_global:
            addresses.add(ip)
        return
    except ValueError:
        pass
    if "/" in token or ":" in token:
        return  # a URL: no URL fields in DNS and TLS logs
    low = token.lower().rstrip(".")
    if len(low) == 64 and all(c in "0123456789abcdef" for c in low):
        hashes.add(low)
    elif ".." not in low and "." in low:
        domains.add(low)


def load(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            add_indicator(line.split("#", 1)[0])


for root, _, files in os.walk(trails):
    for name in files:
        if name.endswith(".txt"):
            load(os.path.join(root, name))
load(args.extra)
networks.sort(key=lambda n: -n.prefixlen)


def match_domain(name):
    labels = name.lower().rstrip(".").split(".")
    for i in range(len(labels) - 1):
        candidate = ".".join(labels[i:])
        if candidate in domains:
            return candidate
    return None


def match_ip(text):
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if ip in addresses:
        return str(ip)
    for net in networks:
        if ip.version == net.version and ip in net:
            return str(net)
    return None


def event_matches(rec):
    found = set()
    for key in ("id.orig_h", "id.resp_h"):
        if key in rec and (m := match_ip(rec[key])):
            found.add(m)
    if rec.get("query") and (m := match_domain(rec["query"])):
        found.add(m)
    for answer in rec.get("answers") or []:
        m = match_ip(answer)
        if m is None:
            m = match_domain(answer)
        if m:
            found.add(m)
    if rec.get("server_name") and (m := match_domain(rec["server_name"])):
        found.add(m)
    for fp in rec.get("cert_chain_fps") or []:
        if fp.lower() in hashes:
            found.add(fp.lower())
    return found


expected = set()
for log in ("dns.json.gz", "ssl.json.gz"):
    with gzip.open(os.path.join(zeek_json, log), "rt") as f:
        for line_no, line in enumerate(f, 1):
            for ind in event_matches(json.loads(line)):
                expected.add((log, line_no, ind))
per_indicator = collections.Counter(ind for _, _, ind in expected)
print(f"expected: {len(expected)} alerts over {len(per_indicator)} indicators "
      f"({len(domains)} domains, {len(addresses)} addresses, {len(networks)} ranges loaded here)")
for ind, n in sorted(per_indicator.items(), key=lambda x: (-x[1], x[0])):
    print(f"  {n:6d}  {ind}")

failures = 0
with tempfile.TemporaryDirectory() as tmp:
    def scan(inputs, tag):
        alerts_path = os.path.join(tmp, f"alerts-{tag}.jsonl")
        cmd = [args.aegis, "scan", *inputs, "--intel", trails, "--intel", args.extra,
               "--dedup-window", "0", "--json", "--no-event", "--alerts", alerts_path]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            print(f"FAIL: aegis scan ({tag}) exited {out.returncode}: {out.stderr}")
            sys.exit(1)
        summary = json.loads(out.stdout)
        alerts = [json.loads(l) for l in open(alerts_path)]
        return summary, alerts

    summary, alerts = scan([os.path.join(zeek_json, "dns.json.gz"),
                            os.path.join(zeek_json, "ssl.json.gz")], "json")
    got = {(os.path.basename(a["event"]["source"]), a["event"]["line"], a["rule"]) for a in alerts}
    if len(alerts) != len(got):
        print(f"FAIL: {len(alerts) - len(got)} duplicate alerts in the JSON scan")
        failures += 1
    for x in sorted(expected - got)[:20]:
        print(f"FAIL: expected alert missing: {x}")
    for x in sorted(got - expected)[:20]:
        print(f"FAIL: unexpected alert: {x}")
    if got != expected:
        failures += 1
    lines = sum(1 for log in ("dns.json.gz", "ssl.json.gz")
                for _ in gzip.open(os.path.join(zeek_json, log), "rt"))
    if summary["events"] != lines:
        print(f"FAIL: {summary['events']} events, the logs have {lines} lines")
        failures += 1
    for ind in ("0.0.0.0", "10.47.1.100"):
        if ind in summary["alerts_per_rule"]:
            print(f"FAIL: rejected indicator {ind} matched")
            failures += 1
    print(f"json: {len(got)} alerts, {summary['events']} events, {summary['bad_records']} bad records")

    summary_tsv, _ = scan([os.path.join(zeek_tsv, "dns.log.gz"),
                           os.path.join(zeek_tsv, "ssl.log.gz")], "tsv")
    if summary_tsv["alerts_per_rule"] != dict(per_indicator):
        failures += 1
        print("FAIL: TSV per-indicator counts differ:")
        keys = set(summary_tsv["alerts_per_rule"]) | set(per_indicator)
        for k in sorted(keys):
            a, b = summary_tsv["alerts_per_rule"].get(k, 0), per_indicator.get(k, 0)
            if a != b:
                print(f"  {k}: aegis {a}, expected {b}")
    print(f"tsv: {sum(summary_tsv['alerts_per_rule'].values())} alerts, {summary_tsv['events']} events")

print("1 passed, 0 failed" if failures == 0 else f"0 passed, 1 failed ({failures} problems)")
sys.exit(1 if failures else 0)
