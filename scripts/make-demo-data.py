#!/usr/bin/env python3
"""Writes a small, self-made demo data set for `make run` when ../shared/data is absent.

Output folder (default demo-data/generated):
  intel/demo-trails.txt   a maltrail-style trail file: domains, IPs, a CIDR, a URL
  events/dns.json         Zeek DNS log (JSON lines) with benign and malicious queries
  events/ssl.log          Zeek SSL log (TSV with #fields header)
The values are invented (reserved documentation ranges are avoided because Aegis
rejects them as indicators; the 'malicious' names use the .example-bad TLD style of
real-looking but fictional names).
"""
import json
import os
import random
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "demo-data/generated"
rng = random.Random(2017)  # fixed seed: the same demo every time
os.makedirs(f"{out}/intel", exist_ok=True)
os.makedirs(f"{out}/events", exist_ok=True)

bad_domains = ["wannacry-killswitch-demo.com", "ransom-payments-demo.net", "c2.synnovis-demo.org",
               "phish-nhs-login-demo.co.uk", "advanced-111-demo.info"]
bad_ips = ["45.83.64.17", "185.220.101.4", "91.219.236.222"]
benign = ["nhs.uk", "www.nhs.uk", "digital.nhs.uk", "outlook.office365.com", "windowsupdate.com",
          "www.gov.uk", "login.microsoftonline.com", "github.com"]

with open(f"{out}/intel/demo-trails.txt", "w") as f:
    f.write("# Demo trail file (invented indicators)\n")
    for d in bad_domains:
        f.write(f"{d}\n")
    for ip in bad_ips:
        f.write(f"{ip}\n")
    f.write("193.142.146.0/24\n")
    f.write("http://ransom-payments-demo.net/pay.php\n")
    f.write("10.0.0.0/8\n")        # rejected: private range
    f.write("0.0.0.0\n")           # rejected: unspecified
    f.write("bad_name..com\n")     # rejected: malformed

t0 = 1700000000.0
with open(f"{out}/events/dns.json", "w") as f:
    for i in range(2000):
        client = f"10.20.{rng.randint(0, 9)}.{rng.randint(2, 250)}"
        if rng.random() < 0.02:
            q = rng.choice(["", "mail.", "cdn."]) + rng.choice(bad_domains)
            answers = [rng.choice(bad_ips)]
        else:
            q = rng.choice(benign)
            answers = [f"51.140.{rng.randint(0, 255)}.{rng.randint(1, 254)}"]
        rec = {"_path": "dns", "ts": t0 + i * 0.5, "uid": f"C{i:017d}", "id.orig_h": client,
               "id.orig_p": rng.randint(1024, 65535), "id.resp_h": "10.20.0.53", "id.resp_p": 53,
               "proto": "udp", "query": q, "qtype_name": "A", "rcode_name": "NOERROR",
               "answers": answers}
        f.write(json.dumps(rec) + "\n")

with open(f"{out}/events/ssl.log", "w") as f:
    f.write("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tssl\n")
    f.write("#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tversion\tserver_name\n")
    f.write("#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\n")
    for i in range(500):
        bad = rng.random() < 0.03
        server = rng.choice(bad_domains) if bad else rng.choice(benign)
        ip = rng.choice(bad_ips) if bad else f"51.140.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        f.write(f"{t0 + i:.6f}\tS{i:017d}\t10.20.1.{rng.randint(2, 250)}\t{rng.randint(1024, 65535)}"
                f"\t{ip}\t443\tTLSv12\t{server}\n")
    f.write("#close\t2023-11-14-22-13-20\n")
print(f"demo data written to {out}")
