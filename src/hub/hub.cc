// Hub assembly for `aegis serve`: see hub/hub.h.
#include "hub/hub.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <charconv>
#include <filesystem>
#include <thread>
#include <utility>

#include "auth/accounts.h"
#include "hub/context.h"
#include "hub/rest_api.h"
#include "hub/taxii.h"
#include "intel/feeds.h"
#include "intel/stix_store.h"
#include "pipeline/service.h"
#include "server/http_server.h"
#include "share/early_warning.h"
#include "share/federation.h"
#include "share/live_indicators.h"
#include "share/sightings.h"
#include "store/store.h"

namespace aegis::hub {
namespace {

std::unexpected<Error> StartError(std::string field, std::string reason) {
  Error e;
  e.where = "aegis serve";
  e.field = std::move(field);
  e.reason = std::move(reason);
  return std::unexpected(std::move(e));
}

// "127.0.0.1:8443", "[::1]:8443", ":8443" (all IPv4 interfaces) → address and port.
Result<std::pair<std::string, uint16_t>> ParseListen(std::string_view listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos) {
    return StartError("server.listen", "must be address:port, e.g. 127.0.0.1:8443");
  }
  std::string address(listen.substr(0, colon));
  if (address.size() >= 2 && address.front() == '[' && address.back() == ']') {
    address = address.substr(1, address.size() - 2);
  }
  if (address.empty()) address = "0.0.0.0";
  const std::string_view port_text = listen.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return StartError("server.listen", "port '" + std::string(port_text) + "' is not 0..65535");
  }
  return std::make_pair(address, static_cast<uint16_t>(port));
}

// The collections every hub has: indicators (written by the national centre and this
// instance's organisation, read by every member) and sightings (written by every
// member). Created on first start; an administrator may change them afterwards.
Result<void> EnsureDefaultCollections(intel::StixStore& stix, const pipeline::HubSection& hub) {
  struct Default {
    std::string alias;
    std::string title;
    std::string description;
    std::vector<std::string> writers;
  };
  const Default defaults[] = {
      {hub.indicators_collection, "Indicators",
       "Threat indicators shared with every member; live in detection.",
       {"type:national-centre", hub.org}},
      {hub.sightings_collection, "Sightings",
       "Sightings of indicators reported by members (from their detections).", {"*"}},
  };
  for (const Default& d : defaults) {
    if (d.alias.empty()) continue;
    auto existing = stix.GetCollection(d.alias);
    if (!existing) return std::unexpected(existing.error());
    if (*existing) continue;
    intel::Collection collection;
    collection.alias = d.alias;
    collection.title = d.title;
    collection.description = d.description;
    collection.access.readers = {"*"};
    collection.access.writers = d.writers;
    auto created = stix.CreateCollection(std::move(collection));
    if (!created) return std::unexpected(created.error());
    spdlog::info("hub: created collection '{}' ({})", d.alias, created->id);
  }
  return {};
}

class HubImpl final : public Hub {
 public:
  ~HubImpl() override { Stop(); }

  Result<void> Open(const pipeline::Config& config, const HubStartOptions& options) {
    auto path = SqlitePathOf(config.store_url);
    if (!path) return std::unexpected(path.error());
    if (const auto parent = std::filesystem::path(*path).parent_path(); !parent.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(parent, ec);
    }
    auto alerts = store::Open(config.store_url);
    if (!alerts) return std::unexpected(alerts.error());
    alerts_ = std::move(*alerts);
    auto accounts = auth::Accounts::Open(*path);
    if (!accounts) return std::unexpected(accounts.error());
    accounts_ = std::move(*accounts);
    auto stix = intel::StixStore::Open(*path);
    if (!stix) return std::unexpected(stix.error());
    stix_ = std::move(*stix);

    if (config.hub.org.empty()) {
      return StartError("hub.org", "set [hub] org to this instance's organisation id "
                                   "(create it first: aegis org create)");
    }
    auto org = accounts_->GetOrg(config.hub.org);
    if (!org) return std::unexpected(org.error());
    if (!*org) {
      return StartError("hub.org", "organisation '" + config.hub.org +
                                       "' does not exist; create it with `aegis org create " +
                                       config.hub.org + " --name ... --type ...`");
    }
    own_org_ = **org;
    if (auto made = EnsureDefaultCollections(*stix_, config.hub); !made) return made;

    context_.accounts = accounts_.get();
    context_.stix = stix_.get();
    context_.alerts = alerts_.get();
    context_.title = config.hub.title;
    context_.contact = config.hub.contact;
    context_.api_root = config.hub.api_root;
    context_.max_page = static_cast<size_t>(config.hub.max_page);
    context_.max_content_length = static_cast<size_t>(config.server.max_body_bytes);
    db_path_ = *path;
    return StartServices(config, options);
  }

  // Early Warning, live indicators, sightings, feeds and federation: everything that
  // reacts to objects arriving, or brings them in.
  Result<void> StartServices(const pipeline::Config& config, const HubStartOptions& options) {
    share::Options ew_options;
    ew_options.may_read = [this](const std::string& org_id, const intel::ObjectMeta& meta) {
      auto org = accounts_->GetOrg(org_id);
      if (!org || !*org) return false;
      VisibilityCheck check(context_, auth::Reader{.org_id = org_id, .org_type = (*org)->type},
                            auth::ReadPath::kRest);
      return check(meta);
    };
    ew_options.lookup = [this](std::string_view id) -> std::optional<std::string> {
      auto collections = stix_->ListCollections();
      if (!collections) return std::nullopt;
      for (const auto& collection : *collections) {
        intel::ObjectQuery query;
        query.collection_id = collection.id;
        query.ids = {std::string(id)};
        query.limit = 1;
        auto page = stix_->Query(query);
        if (page && !page->objects.empty()) return page->objects.front().json;
      }
      return std::nullopt;
    };
    ew_options.org_type = [this](std::string_view org_id) -> std::optional<auth::OrgType> {
      auto org = accounts_->GetOrg(org_id);
      if (!org || !*org) return std::nullopt;
      return (*org)->type;
    };
    auto ew = share::EarlyWarning::Open(db_path_, std::move(ew_options));
    if (!ew) return std::unexpected(ew.error());
    early_warning_ = std::move(*ew);
    if (auto started = early_warning_->Start(); !started) return started;
    stix_->AddObjectsAddedHook([ew = early_warning_.get()](std::span<const intel::StoredObject> added) {
      if (auto r = ew->OnObjectsAdded(added); !r) {
        spdlog::warn("early warning: {}", r.error().ToString());
      }
    });

    const bool detect = config.hub.detect && !config.inputs.empty();
    // Live indicators only feed detection: without it they would cost memory and a
    // rebuild per ingest batch for nothing.
    share::LiveIndicatorsOptions live_options;
    if (!config.hub.indicators_collection.empty()) {
      live_options.collections = {config.hub.indicators_collection};
    }
    if (detect) {
      live_ = std::make_unique<share::LiveIndicators>(live_options);
      auto live = live_->Attach(*stix_);
      if (!live) return std::unexpected(live.error());
      spdlog::info("hub: {} stored indicators live in detection", *live);
    }

    if (!config.hub.sightings_collection.empty()) {
      share::AlertSightingsOptions sighting_options;
      sighting_options.sighting.org_id = own_org_.id;
      sighting_options.sighting.org_identity = own_org_.stix_identity;
      sighting_options.sighting.anonymise =
          own_org_.anonymise_sightings || config.hub.anonymise_sightings;
      sighting_options.collection = config.hub.sightings_collection;
      auto sightings = share::AlertSightings::Open(stix_.get(), std::move(sighting_options));
      if (!sightings) return std::unexpected(sightings.error());
      sightings_ = std::move(*sightings);
      sightings_->StartPolling(alerts_.get(), 1'000'000'000);
    }

    if (!options.config_text.empty()) {
      auto feeds = intel::ParseFeedsToml(options.config_text, options.config_name);
      if (!feeds) return std::unexpected(feeds.error());
      if (!feeds->empty()) {
        auto importer = intel::FeedImporter::Open(db_path_, stix_.get());
        if (!importer) return std::unexpected(importer.error());
        spdlog::info("hub: {} feeds scheduled", feeds->size());
        feeds_ = std::make_unique<intel::FeedScheduler>(std::move(*importer), std::move(*feeds));
        feeds_->Start();
      }
      auto federation = share::ParseFederationToml(options.config_text, options.config_name);
      if (!federation) return std::unexpected(federation.error());
      if (federation->enabled && !federation->peers.empty()) {
        auto opened = share::Federation::Open(
            {.db_path = db_path_, .stix = stix_.get(), .accounts = accounts_.get()},
            std::move(federation->peers));
        if (!opened) return std::unexpected(opened.error());
        federation_ = std::move(*opened);
        federation_->Start();
        spdlog::info("hub: federation with {} peer(s)", federation_->Stats().size());
      }
    }

    if (detect) {
      pipeline::Config detection = config;
      detection_ = std::thread([this, detection = std::move(detection)] {
        pipeline::ServiceOptions service_options;
        service_options.stop = &detection_stop_;
        service_options.live_index = live_->handle();
        auto stats = pipeline::RunService(detection, service_options);
        if (!stats) spdlog::error("detection stopped: {}", stats.error().ToString());
      });
    }
    return {};
  }

  Result<void> Serve(const pipeline::Config& config) {
    auto listen = ParseListen(config.server.listen);
    if (!listen) return std::unexpected(listen.error());
    server::ServerConfig server_config;
    server_config.address = listen->first;
    server_config.port = listen->second;
    if (!config.server.tls_cert.empty()) {
      server_config.tls = server::TlsConfig{config.server.tls_cert, config.server.tls_key};
    }
    server_config.threads = static_cast<unsigned>(config.server.threads);
    // Room for the TAXII envelope around max_content_length, so an oversized body
    // gets the TAXII 413 answer rather than the bare HTTP one.
    server_config.max_body_bytes = static_cast<size_t>(config.server.max_body_bytes) + (64u << 10);
    server_config.read_timeout = std::chrono::milliseconds(config.server.read_timeout_ns / 1'000'000);
    server_config.idle_timeout = std::chrono::milliseconds(config.server.idle_timeout_ns / 1'000'000);
    server_config.max_connections = static_cast<size_t>(config.server.max_connections);
    server_config.access_log = config.server.access_log;

    server::Router router;
    if (auto r = RegisterTaxiiRoutes(router, context_); !r) return r;
    RestOptions rest;
    rest.instance_org = own_org_.id;
    rest.tls = server_config.tls.has_value();
    rest.early_warning = early_warning_.get();
    if (auto r = RegisterRestRoutes(router, context_, rest); !r) return r;
    auto server = server::HttpServer::Create(server_config, std::move(router));
    if (!server) return std::unexpected(server.error());
    server_ = std::move(*server);
    context_.metrics = &server_->metrics();
    if (feeds_) {
      server_->metrics().AddCollector(
          [feeds = feeds_.get()] { return intel::FeedStatusPrometheus(feeds->Snapshot()); });
    }
    if (federation_) {
      server_->metrics().AddCollector([fed = federation_.get()] { return fed->MetricsText(); });
    }
    if (auto started = server_->Start(); !started) return started;
    spdlog::info("hub: serving {}://{}:{} for organisation '{}' (TAXII /taxii2/{}/, REST /api/v1)",
                 server_->tls() ? "https" : "http", server_config.address, server_->port(),
                 own_org_.id, context_.api_root);
    return {};
  }

  uint16_t port() const override { return server_ ? server_->port() : 0; }
  bool tls() const override { return server_ && server_->tls(); }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    if (server_) server_->Stop();
    detection_stop_.store(true);
    if (detection_.joinable()) detection_.join();
    if (federation_) federation_->Stop();
    if (feeds_) feeds_->Stop();
    if (sightings_) sightings_->Stop();
    if (early_warning_) early_warning_->Stop();
  }

 private:
  std::unique_ptr<store::Store> alerts_;
  std::unique_ptr<auth::Accounts> accounts_;
  std::unique_ptr<intel::StixStore> stix_;
  auth::Organisation own_org_;
  HubContext context_;
  std::string db_path_;
  std::unique_ptr<share::EarlyWarning> early_warning_;
  std::unique_ptr<share::LiveIndicators> live_;
  std::unique_ptr<share::AlertSightings> sightings_;
  std::unique_ptr<intel::FeedScheduler> feeds_;
  std::unique_ptr<share::Federation> federation_;
  std::atomic<bool> detection_stop_{false};
  std::thread detection_;
  std::unique_ptr<server::HttpServer> server_;
  std::atomic<bool> stopped_{false};
};

}  // namespace

Result<std::string> SqlitePathOf(const std::string& store_url) {
  std::string_view url = store_url;
  if (url.starts_with("postgres")) {
    return StartError("store.url", "the hub needs the SQLite store in this build");
  }
  if (url.starts_with("sqlite:")) {
    url.remove_prefix(7);
    if (url.starts_with("//")) url.remove_prefix(2);
  }
  if (url.empty()) return StartError("store.url", "names no database file");
  if (url == ":memory:") return StartError("store.url", "the hub needs a database file, not :memory:");
  return std::string(url);
}

Result<std::unique_ptr<Hub>> Hub::Start(const pipeline::Config& config,
                                        const HubStartOptions& options) {
  auto hub = std::make_unique<HubImpl>();
  if (auto opened = hub->Open(config, options); !opened) return std::unexpected(opened.error());
  if (auto served = hub->Serve(config); !served) return std::unexpected(served.error());
  return std::unique_ptr<Hub>(std::move(hub));
}

}  // namespace aegis::hub
