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
import time

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
# Windows process creation (Sysmon, flat JSON as nxlog/winlogbeat ship it) and two
# Sigma rules that catch what an intruder did on one workstation.
os.makedirs(f"{out}/sigma", exist_ok=True)
with open(f"{out}/sigma/demo-rules.yml", "w") as f:
    f.write("""title: Credential Dumping Via Procdump (demo)
id: 6f0d6a32-3c1e-4c57-9d3b-2f1ad0a5c101
status: test
level: high
tags: [attack.credential-access, attack.t1003.001]
logsource: {product: windows, category: process_creation}
detection:
  selection_img:
    Image|endswith: ['\\procdump.exe', '\\procdump64.exe']
  selection_cli:
    CommandLine|contains|windash: ' -ma '
  selection_lsass:
    CommandLine|contains: 'lsass'
  condition: all of selection_*
---
title: Encoded PowerShell Command (demo)
id: 6f0d6a32-3c1e-4c57-9d3b-2f1ad0a5c102
status: test
level: medium
tags: [attack.execution, attack.t1059.001]
logsource: {product: windows, category: process_creation}
detection:
  selection:
    Image|endswith: '\\powershell.exe'
    CommandLine|contains|windash: ' -enc '
  condition: selection
""")
benign_cmds = [("C:\\Windows\\System32\\svchost.exe", "svchost.exe -k netsvcs"),
               ("C:\\Windows\\explorer.exe", "explorer.exe"),
               ("C:\\Program Files\\EMIS\\emisweb.exe", "emisweb.exe /practice 12345")]
bad_cmds = [("C:\\Users\\gp-admin\\Downloads\\procdump64.exe", "procdump64.exe -accepteula -ma lsass.exe out.dmp"),
            ("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "powershell.exe -nop /enc SQBFAFgA")]
with open(f"{out}/events/windows.json", "w") as f:
    for i in range(600):
        image, cmd = rng.choice(bad_cmds) if rng.random() < 0.02 else rng.choice(benign_cmds)
        ts = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t0 + i)) + ".000"
        rec = {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
               "Hostname": "GP-WS-07.practice.nhs.uk", "UtcTime": ts, "Image": image,
               "CommandLine": cmd, "User": "PRACTICE\\gp-admin", "ProcessId": 4000 + i}
        f.write(json.dumps(rec) + "\n")
print(f"demo data written to {out}")
