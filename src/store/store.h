// Store: durable state behind one interface. SQLite (WAL) is the embedded default;
// PostgreSQL will implement the same interface for national scale.
//
// The schema is versioned: Open() applies every pending migration in order inside a
// transaction, and records each in `schema_migrations`.
//
//   auto store = aegis::store::Open("sqlite:aegis.db");   // or a bare path
//   (*store)->PutAlerts(alerts);
//   auto recent = (*store)->ListAlerts({.limit = 20});
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/alert.h"
#include "core/error.h"
#include "core/indicator.h"

namespace aegis::store {

struct AlertQuery {
  size_t limit = 100;
  int64_t since_ns = 0;               // alerts raised at or after
  std::optional<Severity> min_severity;
  std::string rule;                   // exact rule (indicator value), empty = any
  std::string detector;               // empty = any
};

struct IndicatorCounts {
  uint64_t total = 0;
  std::vector<std::pair<std::string, uint64_t>> by_type;    // ("domain", 123)
  std::vector<std::pair<std::string, uint64_t>> by_source;  // top sources
};

class Store {
 public:
  virtual ~Store() = default;
  virtual std::string_view backend() const = 0;      // "sqlite"
  virtual int schema_version() const = 0;

  virtual Result<void> PutAlerts(std::span<const Alert> alerts) = 0;
  virtual Result<std::vector<Alert>> ListAlerts(const AlertQuery& query) = 0;
  // An id or unique id prefix.
  virtual Result<std::optional<Alert>> GetAlert(const std::string& id) = 0;
  virtual Result<uint64_t> CountAlerts() = 0;
  // Raises the count of stored alerts by the repeats that de-duplication folded into
  // them: (alert id, repeats). Unknown ids are ignored.
  virtual Result<void> AddAlertRepeats(std::span<const std::pair<std::string, uint32_t>> repeats) = 0;

  // Upserts by (type, value): a later write replaces the metadata.
  virtual Result<uint64_t> PutIndicators(std::span<const Indicator> indicators) = 0;
  // Calls `fn` for every stored indicator (streaming, constant memory).
  virtual Result<uint64_t> ForEachIndicator(const std::function<void(const Indicator&)>& fn) = 0;
  virtual Result<IndicatorCounts> CountIndicators() = 0;
  virtual Result<uint64_t> DeleteIndicatorsFromSource(const std::string& source) = 0;
};

// "sqlite:PATH", "sqlite::memory:", or a bare PATH (SQLite). "postgres://..." is
// reserved for the PostgreSQL backend and answers with a clear error until it lands.
Result<std::unique_ptr<Store>> Open(const std::string& url);
// As Open, but never creates a database: for commands that only read (a mistyped
// path must not look like an empty store).
Result<std::unique_ptr<Store>> OpenExisting(const std::string& url);

}  // namespace aegis::store
