// Federation: Aegis instances keep collections in sync over TAXII 2.1. A trust's
// instance pulls the national indicators into a local collection and pushes its own
// sightings up; any two instances can peer the same way.
//
// Each configured peer runs on its own background thread, one round per interval:
//   PULL  GET <api root>collections/<remote>/objects/?added_after=<cursor>&match[version]=all
//         following `next` while `more`; every object is validated
//         (intel::stix::ValidateObject) and added to the local collection with
//         producer_org = the peer's organisation. The cursor is the last
//         X-TAXII-Date-Added-Last seen, persisted after each page.
//   PUSH  the local collection's versions added since the push cursor that the TLP
//         policy lets go to the peer's organisation (auth::Decide, ReadPath::kFederation),
//         never objects that came from the peer, POSTed as TAXII envelopes in batches;
//         a 202 moves the persisted cursor on.
// Cursors live in the SQLite component "federation" (table federation_cursors), so a
// restart resumes without duplicates. Failures back off exponentially (1 s doubling,
// capped); counters per peer feed /metrics. Config: [[federation.peers]] in the aegis
// TOML file (docs/FEDERATION.md).
//
//   auto config = share::ParseFederationToml(text, "aegis.toml");
//   auto fed = share::Federation::Open({.db_path = db, .stix = stix.get()}, config->peers);
//   (*fed)->Start();   // or (*fed)->SyncPeer("national") for one round
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/accounts.h"
#include "auth/tlp_policy.h"
#include "core/error.h"
#include "intel/stix_store.h"

namespace aegis::share {

struct CollectionLink {
  std::string remote;  // the peer's collection id (TAXII requires the id)
  std::string local;   // local collection alias or id; created (by alias) if missing
};

struct FederationPeer {
  std::string name;  // [a-z0-9-_], unique; names the cursors and the metrics
  std::string url;   // TAXII API root, e.g. "https://national.example/taxii2/hub/"
  // The peer's organisation: producer_org of what is pulled, and the TLP reader of
  // what is pushed (it is the organisation that runs the receiving instance).
  std::string org;
  auth::OrgType org_type = auth::OrgType::kNationalCentre;
  // Credentials: a token (Bearer), else user + password (HTTP Basic).
  std::string token;
  std::string user;
  std::string password;
  std::string ca_file;     // extra CA bundle (PEM) for the peer's certificate
  bool verify_tls = true;  // false only for tests against self-signed certificates
  std::vector<CollectionLink> pull;
  std::vector<CollectionLink> push;
  std::chrono::seconds interval{60};
  std::chrono::seconds max_backoff{300};
  size_t page_size = 1000;  // limit= on pulls
  size_t push_batch = 500;  // objects per POST
  std::chrono::seconds timeout{30};
};

struct FederationConfig {
  bool enabled = true;
  std::vector<FederationPeer> peers;
};

// Parses the [federation] table of an aegis TOML file (other tables are ignored).
// Secrets may come from the environment: token_env, password_env. Errors name the
// peer and the key.
Result<FederationConfig> ParseFederationToml(std::string_view toml_text, std::string_view where);
Result<FederationConfig> LoadFederationConfig(const std::string& path);

struct PeerStats {
  std::string peer;
  uint64_t pulled = 0;    // objects added locally (new versions; duplicates not counted)
  uint64_t pushed = 0;    // objects the peer accepted
  uint64_t rejected = 0;  // pulled objects that failed validation or storage; push failures
  uint64_t errors = 0;    // failed rounds
  uint64_t rounds = 0;    // successful rounds
  int64_t last_success_ns = 0;
  std::string last_error;
};

struct SyncSummary {
  uint64_t pulled = 0, pushed = 0, rejected = 0;
};

class Federation {
 public:
  struct Options {
    std::string db_path;                 // SQLite file for the cursors (the aegis database)
    intel::StixStore* stix = nullptr;    // required
    auth::Accounts* accounts = nullptr;  // optional: producers' default TLP and AMBER share lists
  };

  // Validates the peers, resolves (creating) local collections, opens the cursor table.
  static Result<std::unique_ptr<Federation>> Open(const Options& options,
                                                  std::vector<FederationPeer> peers);
  ~Federation();
  Federation(const Federation&) = delete;
  Federation& operator=(const Federation&) = delete;

  // One pull-then-push round for one peer, on the calling thread. Serialised with the
  // peer's background rounds.
  Result<SyncSummary> SyncPeer(std::string_view name);

  // Background threads, one per peer. A local add to a pushed collection wakes the
  // peers at once (sightings go up without waiting for the interval).
  void Start();
  void Stop();  // also done by the destructor

  std::vector<PeerStats> Stats() const;
  // Prometheus text lines: aegis_federation_{pulled,pushed,rejected,errors}_total and
  // aegis_federation_last_success_seconds, labelled by peer.
  std::string MetricsText() const;

  struct Impl;

 private:
  explicit Federation(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace aegis::share
