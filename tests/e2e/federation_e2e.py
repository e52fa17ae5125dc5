#!/usr/bin/env python3
"""Two real `aegis serve` processes federating over TAXII 2.1 on port 0.

national (org ncc, national centre)  <--TAXII-->  trust (org rxa, detection on)

1. An analyst at the national centre POSTs a TLP:GREEN domain indicator to the
   national `indicators` collection.
2. The trust's instance pulls it into its own `indicators` collection (federation),
   and it reaches the trust's detection index live.
3. A DNS query for that domain appears in the trust's Zeek log: detection raises an
   alert, the alert becomes an anonymised sighting in the trust's `sightings`
   collection, and federation pushes it up to the national `sightings` collection.
4. TLP: a TLP:AMBER+STRICT object in the trust's sightings collection never reaches
   the national centre; a TLP:GREEN one beside it does.
5. Restarting the trust's instance resumes from the stored cursors: nothing is pulled
   or pushed twice.

Exit 0: pass, 1: fail. Timings are printed for information, never asserted.
    federation_e2e.py --aegis build/aegis
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

MEDIA = "application/taxii+json;version=2.1"
TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
TLP_AMBER_STRICT = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
DOMAIN = "nhs-verify-login.com"
INDICATOR_ID = "indicator--4d0b7a4e-6b43-4f3b-9d55-0c3c5f0a9e11"


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)
    print(f"  ok: {what}")


def run(aegis, *args):
    r = subprocess.run([aegis, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise Failure(f"aegis {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def token(aegis, db, user, scopes):
    out = run(aegis, "token", "create", "--user", user, "--scopes", scopes, "--json", "--db", db)
    return json.loads(out)["secret"]


def request(method, url, tok, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", MEDIA)
    req.add_header("Authorization", f"Bearer {tok}")
    if data is not None:
        req.add_header("Content-Type", MEDIA)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read().decode()
            return r.status, (json.loads(text) if text else {})
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def objects(base, collection, tok, extra=""):
    """Every object (all versions) of a collection, following `next`."""
    out, nxt = [], None
    while True:
        q = "?limit=500&match[version]=all" + extra + (f"&next={nxt}" if nxt else "")
        status, page = request("GET", f"{base}collections/{collection}/objects/{q}", tok)
        if status != 200:
            raise Failure(f"GET objects of {collection}: {status} {page}")
        out += page.get("objects", [])
        if not page.get("more"):
            return out
        nxt = page["next"]


def collection_id(base, alias, tok):
    status, body = request("GET", f"{base}collections/", tok)
    if status != 200:
        raise Failure(f"GET collections: {status} {body}")
    for c in body.get("collections", []):
        if c.get("alias") == alias or c.get("id") == alias:
            return c["id"]
    raise Failure(f"no collection '{alias}' in {body}")


def wait_for(pred, seconds, what):
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        value = pred()
        if value:
            return value, time.monotonic() - start
        time.sleep(0.2)
    raise Failure(f"timed out after {seconds}s waiting for: {what}")


class Server:
    def __init__(self, aegis, workdir, name, config):
        self.aegis, self.dir, self.name = aegis, workdir, name
        self.config = os.path.join(workdir, f"{name}.toml")
        with open(self.config, "w") as f:
            f.write(config)
        self.proc = None

    def start(self):
        port_file = os.path.join(self.dir, f"{self.name}.port")
        if os.path.exists(port_file):
            os.remove(port_file)
        self.log = open(os.path.join(self.dir, f"{self.name}.log"), "a")
        self.proc = subprocess.Popen([self.aegis, "serve", "--config", self.config,
                                      "--port-file", port_file],
                                     stdout=self.log, stderr=self.log)
        wait_for(lambda: os.path.exists(port_file) or self.proc.poll() is not None, 30,
                 f"{self.name} to listen")
        if self.proc.poll() is not None:
            raise Failure(f"{self.name} exited: {open(self.log.name).read()[-2000:]}")
        self.port = int(open(port_file).read())
        self.base = f"http://127.0.0.1:{self.port}/taxii2/hub/"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--aegis", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    a = ap.parse_args()
    aegis = os.path.abspath(a.aegis)
    work = tempfile.mkdtemp(prefix="aegis-federation-")
    servers = []
    try:
        ndb, tdb = os.path.join(work, "national.db"), os.path.join(work, "trust.db")
        # National centre: its own organisation, the trust as a member, one user each.
        run(aegis, "org", "create", "ncc", "--name", "National Cyber Centre",
            "--type", "national-centre", "--db", ndb)
        run(aegis, "org", "create", "rxa", "--name", "Royal Example Trust", "--type", "trust",
            "--db", ndb)
        run(aegis, "user", "add", "ncc-analyst", "--org", "ncc", "--role", "analyst", "--db", ndb)
        run(aegis, "user", "add", "rxa-federation", "--org", "rxa", "--role", "analyst", "--db", ndb)
        ncc_token = token(aegis, ndb, "ncc-analyst", "read,write")
        rxa_on_national = token(aegis, ndb, "rxa-federation", "read,write")
        # Trust: its own organisation, the national centre as the peer's organisation.
        run(aegis, "org", "create", "rxa", "--name", "Royal Example Trust", "--type", "trust",
            "--anonymise-sightings", "--db", tdb)
        run(aegis, "org", "create", "ncc", "--name", "National Cyber Centre",
            "--type", "national-centre", "--db", tdb)
        run(aegis, "user", "add", "rxa-analyst", "--org", "rxa", "--role", "analyst", "--db", tdb)
        rxa_token = token(aegis, tdb, "rxa-analyst", "read,write")

        national = Server(aegis, work, "national", f"""
[store]
url = "sqlite:{ndb}"
[server]
listen = "127.0.0.1:0"
access_log = false
[hub]
org = "ncc"
detect = false
[log]
level = "info"
""")
        servers.append(national)
        national.start()
        n_indicators = collection_id(national.base, "indicators", ncc_token)
        n_sightings = collection_id(national.base, "sightings", ncc_token)

        events = os.path.join(work, "dns.log")
        open(events, "w").close()
        trust = Server(aegis, work, "trust", f"""
[store]
url = "sqlite:{tdb}"
[server]
listen = "127.0.0.1:0"
access_log = false
[hub]
org = "rxa"
detect = true
anonymise_sightings = true
[alerts]
jsonl = ""
console = false
[dead_letter]
path = ""
[log]
level = "info"
[[input]]
type = "file"
path = "{events}"
format = "zeek-json"
follow = true
[federation]
[[federation.peers]]
name = "national"
url = "{national.base}"
org = "ncc"
org_type = "national-centre"
token = "{rxa_on_national}"
interval = "1s"
pull = [{{remote = "{n_indicators}", local = "indicators"}}]
push = [{{remote = "{n_sightings}", local = "sightings"}}]
""")
        servers.append(trust)
        trust.start()

        print("1. the national centre shares a TLP:GREEN indicator")
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        indicator = {"type": "indicator", "spec_version": "2.1", "id": INDICATOR_ID,
                     "created": now, "modified": now, "name": "Credential phishing domain",
                     "indicator_types": ["malicious-activity"], "pattern_type": "stix",
                     "pattern": f"[domain-name:value = '{DOMAIN}']", "valid_from": now,
                     "object_marking_refs": [TLP_GREEN]}
        status, body = request("POST", f"{national.base}collections/{n_indicators}/objects/",
                               ncc_token, {"objects": [indicator]})
        check(status == 202 and body.get("success_count") == 1, f"POST accepted ({status})")

        print("2. the trust pulls it")
        _, took = wait_for(lambda: any(o["id"] == INDICATOR_ID for o in objects(
            trust.base, "indicators", rxa_token)), 30, "the indicator on the trust")
        print(f"  pulled in {took:.1f} s (pull interval 1 s)")

        print("3. detection at the trust: alert -> sighting -> pushed to the national centre")
        time.sleep(1.5)  # the live index swaps within a second of the pull
        with open(events, "a") as f:
            ts = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
            f.write(json.dumps({"_path": "dns", "ts": ts, "uid": "CfedE2e1", "id.orig_h": "10.20.30.40",
                                "id.orig_p": 50123, "id.resp_h": "10.20.0.53", "id.resp_p": 53,
                                "proto": "udp", "query": DOMAIN, "qtype_name": "A",
                                "rcode_name": "NOERROR", "answers": ["198.18.7.7"]}) + "\n")

        def pushed_sighting():
            for o in objects(national.base, n_sightings, ncc_token):
                if o.get("type") == "sighting" and o.get("sighting_of_ref") == INDICATOR_ID:
                    return o
            return None
        sighting, took = wait_for(pushed_sighting, 60, "the sighting on the national centre")
        print(f"  event -> sighting at the national centre in {took:.1f} s")
        check("where_sighted_refs" not in sighting, "the reporting trust is anonymised")
        check(TLP_GREEN in sighting.get("object_marking_refs", []), "sighting carries TLP:GREEN")
        check(sighting.get("count", 0) >= 1, "sighting has a count")

        print("4. TLP on the federation path")
        def note(id_suffix, marking, text):
            return {"type": "note", "spec_version": "2.1",
                    "id": f"note--0d5c5e4e-1111-4a2b-8c3d-{id_suffix}", "created": now,
                    "modified": now, "content": text, "object_refs": [INDICATOR_ID],
                    "object_marking_refs": [marking]}
        strict = note("000000000001", TLP_AMBER_STRICT, "internal: which ward PC was hit")
        green = note("000000000002", TLP_GREEN, "blocked at the trust's resolver")
        status, body = request("POST", f"{trust.base}collections/sightings/objects/", rxa_token,
                               {"objects": [strict, green]})
        check(status == 202 and body.get("success_count") == 2, f"local POST accepted ({status})")
        wait_for(lambda: any(o["id"] == green["id"] for o in objects(
            national.base, n_sightings, ncc_token)), 30, "the GREEN note on the national centre")
        ids = {o["id"] for o in objects(national.base, n_sightings, ncc_token)}
        check(strict["id"] not in ids, "the AMBER+STRICT note stayed at the trust")

        print("5. restart resumes from the cursors: nothing twice")
        before_national = len(objects(national.base, n_sightings, ncc_token))
        before_trust = len(objects(trust.base, "indicators", rxa_token))
        trust.stop()
        trust.start()
        time.sleep(4)  # several federation rounds
        check(len(objects(national.base, n_sightings, ncc_token)) == before_national,
              f"national sightings unchanged ({before_national})")
        check(len(objects(trust.base, "indicators", rxa_token)) == before_trust,
              f"trust indicators unchanged ({before_trust})")
        print("PASS")
        return 0
    except Failure as e:
        print(f"FAIL: {e}")
        for s in servers:
            log = os.path.join(work, f"{s.name}.log")
            if os.path.exists(log):
                print(f"--- {s.name}.log (tail)")
                print(open(log).read()[-3000:])
        return 1
    finally:
        for s in servers:
            s.stop()
        if a.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
