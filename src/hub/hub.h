// Hub: everything `aegis serve` runs in one process, assembled from the config file.
//
//   [store]  one SQLite database holds alerts, accounts, STIX objects, Early Warning
//            state, feed and federation cursors (each component its own tables)
//   [server] the HTTP(S) listener: TAXII 2.1 under /taxii2/, REST under /api/v1,
//            /healthz, /metrics
//   [hub]    this instance's organisation, default collections, sightings
//   [[feeds]], [federation]: background work started with the server; Early Warning
//            (settings in the database, `aegis ew`) reacts to every stored object
//   [[input]] (when hub.detect): the `aegis run` pipeline in the same process, with
//            hub indicators reaching detection live and alerts becoming sightings
//
//   auto hub = hub::Hub::Start(config, raw_toml_text);
//   ... (*hub)->port() ...
//   (*hub)->Stop();
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/error.h"
#include "pipeline/config.h"

namespace aegis::hub {

struct HubStartOptions {
  // The config file's text, for the sections other modules parse themselves
  // ([[feeds]], [federation]); empty when there is no file.
  std::string config_text;
  std::string config_name = "aegis.toml";
};

class Hub {
 public:
  // Opens the stores, checks that hub.org exists, creates the default collections,
  // starts the HTTP server and the background services. Errors are start-up failures.
  static Result<std::unique_ptr<Hub>> Start(const pipeline::Config& config,
                                            const HubStartOptions& options = {});
  virtual ~Hub() = default;
  virtual uint16_t port() const = 0;
  virtual bool tls() const = 0;
  // Stops the background services and the server (in-flight requests finish). Idempotent.
  virtual void Stop() = 0;
};

// The SQLite file behind a store URL ("sqlite:PATH", a bare path), or an error for
// other backends.
Result<std::string> SqlitePathOf(const std::string& store_url);

}  // namespace aegis::hub
