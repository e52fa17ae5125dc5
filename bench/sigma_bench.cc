// Sigma matching against the peer, Zircolite, on the OTRF (Mordor) atomic data sets.
//
//   build-bench/bench/sigma_bench --benchmark_counters_tabular=true
//
// In one run:
//   * every OTRF data set file is read once into memory, as aegis::Events (Aegis) and,
//     flattened the way Zircolite flattens JSON, as rows (the peer);
//   * Aegis: the load time of all SigmaHQ rule folders, events/s of one Matcher over all
//     events with all rules (BM_AegisMatch), parse + match from the JSON lines
//     (BM_AegisEndToEnd), two Matchers on two threads (BM_AegisMatch2Threads), memory;
//   * the peer, done the way Zircolite does it: an in-memory SQLite database with a
//     table `logs` (one column per flat field name, INTEGER when the first value seen
//     is an integer, else TEXT COLLATE NOCASE, added with ALTER TABLE as new names show
//     up, batches of 5000 rows, an index on eventid), a `regexp` function (Zircolite:
//     Python re.search; here PCRE2 with JIT, which favours the peer), then every rule's
//     SQL of rules_windows_generic.json and rules_windows_sysmon_high.json, counting
//     the rows each rule id returns. Like Zircolite, events whose Channel/EventID no
//     rule names are dropped before flattening and identical SQL runs once;
//   * a per-rule comparison of the events Aegis and the peer match, written as a TSV
//     (SIGMA_COMPARE_OUT, default /tmp/sigma-compare.tsv) with a summary on stdout.
//
// Events/s are always the number of OTRF events read (before the peer's filter) over
// the time taken, so both sides are measured on the same input.
#include <benchmark/benchmark.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <simdjson.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#ifndef SIGMA_BENCH_PEER_ONLY
#include "detect/sigma.h"
#endif
#include "core/event.h"
#include "ingest/ingest.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const std::string kShared = AEGIS_SHARED_DATA;
const std::string kOtrf = kShared + "/events/otrf/datasets";
const std::string kPeerRules = kShared + "/sigma-peer/rules";
const std::vector<std::string> kSigmaFolders = {
    kShared + "/sigma/rules", kShared + "/sigma/rules-emerging-threats",
    kShared + "/sigma/rules-threat-hunting", kShared + "/sigma/rules-placeholder",
    kShared + "/sigma/rules-compliance"};
const char* kPeerRuleFiles[] = {"rules_windows_generic.json", "rules_windows_sysmon_high.json"};
// The SigmaHQ snapshot the peer's rule sets were converted from (README of the rules).
const std::string kPeerSnapshot = "2026-05";

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// CPU time of the calling thread, in seconds (the machine may be shared: CPU time is
// the fair per-core measure when other processes compete for the cores).
double ThreadCpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Resident set size now (not the peak), in MiB.
double RssMiB() {
  long pages_total = 0, pages_rss = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages_total, &pages_rss) != 2) pages_rss = 0;
    std::fclose(f);
  }
  return static_cast<double>(pages_rss) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1048576.0;
}
double PeakRssMiB() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// ---------------------------------------------------------------------------------
// The corpus: every OTRF data set file, as Events (with their raw JSON line).

struct Corpus {
  std::vector<aegis::Event> events;
  size_t files = 0;
  size_t skipped_files = 0;
  uint64_t bad_records = 0;  // lines the reader rejected
  size_t files_without_events = 0;  // e.g. zipped packet captures
  uint64_t bytes = 0;  // raw JSON bytes
  double load_s = 0;
  double rss_growth_mib = 0;
  std::string error;
};

// .tar.gz members (EventReader reads .gz and .zip, not tar): gunzip, walk the tar
// headers, and parse each line of each regular member with the sniffed parser.
void ReadTarGz(const std::string& path, Corpus& corpus) {
  gzFile gz = gzopen(path.c_str(), "rb");
  if (!gz) return;
  std::string tar;
  char buf[1 << 16];
  int n;
  while ((n = gzread(gz, buf, sizeof buf)) > 0) tar.append(buf, static_cast<size_t>(n));
  gzclose(gz);
  size_t pos = 0;
  while (pos + 512 <= tar.size()) {
    const char* h = tar.data() + pos;
    if (h[0] == '\0') break;  // end-of-archive block
    std::string name(h, strnlen(h, 100));
    size_t size = std::strtoull(std::string(h + 124, 12).c_str(), nullptr, 8);
    char type = h[156];
    pos += 512;
    if (pos + size > tar.size()) break;
    std::string_view body(tar.data() + pos, size);
    pos += (size + 511) / 512 * 512;
    if (type != '0' && type != '\0') continue;
    aegis::EventFormat format = aegis::ingest::SniffFormat(body.substr(0, 65536));
    auto parser = aegis::ingest::MakeParser(format);
    if (!parser) {
      ++corpus.skipped_files;
      continue;
    }
    uint64_t line_no = 0;
    size_t start = 0;
    while (start < body.size()) {
      size_t nl = body.find('\n', start);
      if (nl == std::string_view::npos) nl = body.size();
      std::string_view line = body.substr(start, nl - start);
      uint64_t offset = start;
      start = nl + 1;
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
      aegis::Event ev;
      ev.format = format;
      ev.source = path + "!" + name;
      ev.line = line_no;
      ev.offset = offset;
      ev.raw.assign(line);
      auto r = parser->Parse(line, ev);
      if (r && *r == aegis::ingest::ParseOutcome::kEvent) {
        corpus.bytes += line.size();
        corpus.events.push_back(std::move(ev));
      }
    }
  }
}

Corpus LoadCorpus() {
  Corpus c;
  if (!fs::exists(kOtrf)) {
    c.error = "OTRF data sets not found: " + kOtrf + " (set AEGIS_SHARED_DATA)";
    return c;
  }
  double rss0 = RssMiB();
  auto t0 = Clock::now();
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(kOtrf)) {
    if (!e.is_regular_file()) continue;
    std::string p = e.path().string();
    if (p.ends_with(".zip") || p.ends_with(".gz") || p.ends_with(".json")) files.push_back(p);
    else ++c.skipped_files;  // e.g. a .cap packet capture
  }
  std::sort(files.begin(), files.end());
  aegis::ingest::DeadLetterFile none("");
  const bool verbose = std::getenv("SIGMA_BENCH_VERBOSE") != nullptr;
  for (const std::string& f : files) {
    ++c.files;
    size_t before = c.events.size();
    uint64_t bad = 0;
    if (f.ends_with(".tar.gz") || f.ends_with(".tgz")) {
      ReadTarGz(f, c);
    } else {
      aegis::ingest::ReaderOptions opts;
      auto reader = aegis::ingest::EventReader::Open(f, opts, &none);
      if (!reader) continue;
      aegis::Event ev;
      while ((*reader)->Next(ev)) {
        c.bytes += ev.raw.size();
        c.events.push_back(ev);
      }
      bad = (*reader)->stats().bad_records;
      c.bad_records += bad;
    }
    if (c.events.size() == before) ++c.files_without_events;
    if (verbose)
      std::fprintf(stderr, "%8zu events %6lu bad  %s\n", c.events.size() - before,
                   static_cast<unsigned long>(bad), f.c_str());
  }
  c.load_s = Seconds(t0, Clock::now());
  c.rss_growth_mib = RssMiB() - rss0;
  if (c.events.empty()) c.error = "no events read from " + kOtrf;
  return c;
}

Corpus& GetCorpus() {
  static Corpus* c = new Corpus(LoadCorpus());
  return *c;
}

// ---------------------------------------------------------------------------------
// The peer: Zircolite's flattening, schema, event filter and SQL.

namespace peer {

struct Rule {
  std::string title, id, level, set;  // set: which JSON file
  std::vector<std::string> sql;
  std::vector<std::string> channels;
  std::vector<int64_t> eventids;
};

struct Rules {
  std::vector<Rule> rules;
  double load_s = 0;
  std::string error;
  // Zircolite's EventFilter (rules.py): on when every rule names a channel or an
  // event id and there is at least one of each.
  bool filter_enabled = false;
  std::unordered_set<std::string> channels, channels_lower;
  std::unordered_set<int64_t> eventids;
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

Rules LoadPeerRules() {
  Rules r;
  auto t0 = Clock::now();
  simdjson::dom::parser parser;
  size_t without_filter = 0;
  for (const char* name : kPeerRuleFiles) {
    std::string path = kPeerRules + "/" + name;
    if (!fs::exists(path)) {
      r.error = "peer rule set not found: " + path;
      return r;
    }
    simdjson::dom::element doc;
    if (auto err = parser.load(path).get(doc)) {
      r.error = path + ": " + simdjson::error_message(err);
      return r;
    }
    simdjson::dom::array arr;
    if (doc.get_array().get(arr)) continue;
    for (simdjson::dom::element e : arr) {
      Rule rule;
      rule.set = name;
      std::string_view sv;
      if (!e["title"].get_string().get(sv)) rule.title = sv;
      if (!e["id"].get_string().get(sv)) rule.id = sv;
      if (!e["level"].get_string().get(sv)) rule.level = sv;
      simdjson::dom::array a;
      if (!e["rule"].get_array().get(a))
        for (auto q : a)
          if (!q.get_string().get(sv)) rule.sql.emplace_back(sv);
      if (!e["channel"].get_array().get(a))
        for (auto q : a)
          if (!q.get_string().get(sv) && !sv.empty()) rule.channels.emplace_back(sv);
      if (!e["eventid"].get_array().get(a))
        for (auto q : a) {
          int64_t id;
          if (!q.get_int64().get(id)) rule.eventids.push_back(id);
        }
      if (rule.channels.empty() && rule.eventids.empty()) ++without_filter;
      for (auto& c : rule.channels) {
        r.channels.insert(c);
        r.channels_lower.insert(Lower(c));
      }
      for (auto id : rule.eventids) r.eventids.insert(id);
      r.rules.push_back(std::move(rule));
    }
  }
  r.filter_enabled = !r.channels.empty() && !r.eventids.empty() && without_filter == 0;
  r.load_s = Seconds(t0, Clock::now());
  return r;
}

Rules& GetRules() {
  static Rules* r = new Rules(LoadPeerRules());
  return *r;
}

// A Python value after orjson.loads + flattening.
struct Value {
  enum Kind : unsigned char { kNull, kInt, kReal, kText } kind = kNull;
  bool py_int = false;  // Python isinstance(v, int): ints and bools (the column type)
  int64_t i = 0;
  double d = 0;
  std::string s;
};

// One flattened event: Python dict semantics (insertion order, exact-key overwrite).
struct Row {
  std::vector<std::pair<std::string, Value>> kv;
  void Set(std::string key, Value v) {
    for (auto& [k, old] : kv)
      if (k == key) {
        old = std::move(v);
        return;
      }
    kv.emplace_back(std::move(key), std::move(v));
  }
};

// Python repr() of a JSON value (for arrays, which Zircolite stores as str(list)).
void PyRepr(simdjson::dom::element e, std::string& out) {
  using T = simdjson::dom::element_type;
  switch (e.type()) {
    case T::ARRAY: {
      out += '[';
      bool first = true;
      simdjson::dom::array arr;
      if (e.get_array().get(arr)) break;
      for (auto x : arr) {
        if (!first) out += ", ";
        first = false;
        PyRepr(x, out);
      }
      out += ']';
      break;
    }
    case T::OBJECT: {
      out += '{';
      bool first = true;
      simdjson::dom::object obj;
      if (e.get_object().get(obj)) return;
      for (auto [k, v] : obj) {
        if (!first) out += ", ";
        first = false;
        out += '\'';
        out += k;
        out += "': ";
        PyRepr(v, out);
      }
      out += '}';
      break;
    }
    case T::STRING: {
      std::string_view s = e.get_string().value_unsafe();
      bool sq = s.find('\'') != std::string_view::npos, dq = s.find('"') != std::string_view::npos;
      char q = (sq && !dq) ? '"' : '\'';
      out += q;
      for (char ch : s) {
        if (ch == '\\') out += "\\\\";
        else if (ch == q) (out += '\\') += ch;
        else if (ch == '\n') out += "\\n";
        else if (ch == '\r') out += "\\r";
        else if (ch == '\t') out += "\\t";
        else out += ch;
      }
      out += q;
      break;
    }
    case T::INT64: out += std::to_string(e.get_int64().value_unsafe()); break;
    case T::UINT64: out += std::to_string(e.get_uint64().value_unsafe()); break;
    case T::DOUBLE: {
      char b[32];
      auto res = std::to_chars(b, b + sizeof b, e.get_double().value_unsafe());
      std::string t(b, res.ptr);
      if (t.find_first_of(".en") == std::string::npos) t += ".0";
      out += t;
      break;
    }
    case T::BOOL: out += e.get_bool().value_unsafe() ? "True" : "False"; break;
    case T::NULL_VALUE: out += "None"; break;
  }
}

// Schema state shared by all events, as StreamingEventProcessor keeps it.
struct Schema {
  std::unordered_set<std::string> discovered;                // lower-cased names
  std::unordered_map<std::string, std::string> field_types;  // exact name -> SQL type
  void Discover(const std::string& k, bool is_int) {
    if (discovered.insert(Lower(k)).second)
      field_types[k] = is_int ? "INTEGER" : "TEXT COLLATE NOCASE";
  }
};

const std::set<std::string, std::less<>> kSplitFields = {"Hash", "Hashes", "ConfigurationFileHash"};

bool IsAlnum(unsigned char c) { return std::isalnum(c) || c >= 0x80; }

void FlattenInto(simdjson::dom::element e, std::vector<std::string_view>& path, Row& row,
                 Schema& schema) {
  using T = simdjson::dom::element_type;
  if (e.type() == T::OBJECT) {
    simdjson::dom::object obj;
    if (e.get_object().get(obj)) return;
    for (auto [k, v] : obj) {
      path.push_back(k);
      FlattenInto(v, path, row, schema);
      path.pop_back();
    }
    return;
  }
  std::string raw_name;
  for (size_t i = 0; i < path.size(); ++i) {
    if (i) raw_name += '.';
    raw_name += path[i];
  }
  if (raw_name.find("xmlns") != std::string::npos) return;  // exclusions
  Value v;
  switch (e.type()) {
    case T::ARRAY: v.kind = Value::kText; PyRepr(e, v.s); break;
    case T::STRING: v.kind = Value::kText; v.s = e.get_string().value_unsafe(); break;
    case T::INT64: {
      int64_t x = e.get_int64().value_unsafe();
      v.py_int = true;
      if (x == INT64_MIN) v.kind = Value::kText, v.s = std::to_string(x);  // abs() > max
      else v.kind = Value::kInt, v.i = x;
      break;
    }
    case T::UINT64:
      v.py_int = true;
      v.kind = Value::kText;
      v.s = std::to_string(e.get_uint64().value_unsafe());
      break;
    case T::DOUBLE: v.kind = Value::kReal; v.d = e.get_double().value_unsafe(); break;
    case T::BOOL: v.py_int = true; v.kind = Value::kInt; v.i = e.get_bool().value_unsafe(); break;
    case T::NULL_VALUE: return;  // useless value
    default: return;
  }
  if (v.kind == Value::kText && v.s.empty()) return;  // useless value ""
  // No mapping applies to flat names (they are all Event.*): the key is the last path
  // component with only its alphanumeric characters.
  std::string key;
  if (!path.empty())
    for (char ch : path.back())
      if (IsAlnum(static_cast<unsigned char>(ch))) key += ch;
  if (key.empty()) return;
  if (v.kind == Value::kText && (kSplitFields.count(raw_name) || kSplitFields.count(key))) {
    // "SHA1=..,MD5=.." -> SHA1, MD5 columns; a part without exactly one '=' ends it.
    std::string_view s = v.s;
    size_t start = 0;
    while (true) {
      size_t comma = s.find(',', start);
      std::string_view part = s.substr(start, comma == std::string_view::npos ? s.npos : comma - start);
      size_t eq = part.find('=');
      if (eq == std::string_view::npos || part.find('=', eq + 1) != std::string_view::npos) break;
      std::string k(part.substr(0, eq));
      Value sv;
      sv.kind = Value::kText;
      sv.s = part.substr(eq + 1);
      row.Set(k, std::move(sv));
      schema.Discover(k, false);
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }
  bool is_int = v.py_int;
  row.Set(key, std::move(v));
  schema.Discover(key, is_int);
}

// The first non-null value at one of these (dotted) paths of the raw event.
std::optional<simdjson::dom::element> FirstAt(simdjson::dom::element root,
                                              std::initializer_list<std::string_view> paths) {
  for (std::string_view p : paths) {
    simdjson::dom::element cur = root;
    bool ok = true;
    size_t start = 0;
    while (ok) {
      size_t dot = p.find('.', start);
      std::string_view part = p.substr(start, dot == p.npos ? p.npos : dot - start);
      simdjson::dom::object o;
      if (cur.get_object().get(o) || o.at_key(part).get(cur)) ok = false;
      if (dot == p.npos) break;
      start = dot + 1;
    }
    if (ok && !cur.is_null()) return cur;
  }
  return std::nullopt;
}

enum class FilterOutcome { kKeep, kDrop };

// StreamingEventProcessor._should_process_event with the default fieldMappings paths.
FilterOutcome Filter(simdjson::dom::element root, const Rules& rules) {
  if (!rules.filter_enabled) return FilterOutcome::kKeep;
  auto ch = FirstAt(root, {"Event.System.Channel", "Channel", "System.Channel", "channel",
                           "log_name", "LogName", "source.name", "winlog.channel"});
  auto id = FirstAt(root, {"Event.System.EventID", "Event.System.EventID.#text", "EventID",
                           "System.EventID", "System.EventID.#text", "eventid", "event_id",
                           "EventCode", "event.code", "winlog.event_id"});
  std::optional<int64_t> eventid;
  if (id) {
    simdjson::dom::element e = *id;
    simdjson::dom::object o;
    if (!e.get_object().get(o)) {
      simdjson::dom::element t;
      if (!o.at_key("#text").get(t)) e = t;
    }
    int64_t x;
    double d;
    bool b;
    std::string_view s;
    if (!e.get_int64().get(x)) eventid = x;
    else if (!e.get_double().get(d)) eventid = static_cast<int64_t>(d);
    else if (!e.get_bool().get(b)) eventid = b;
    else if (!e.get_string().get(s)) {
      while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
      while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
      if (!s.empty() && s.front() == '+') s.remove_prefix(1);
      auto res = std::from_chars(s.data(), s.data() + s.size(), x);
      if (res.ec == std::errc() && res.ptr == s.data() + s.size()) eventid = x;
    }
  }
  if (!ch || !eventid) return FilterOutcome::kKeep;
  std::string_view channel;
  if (ch->get_string().get(channel)) return FilterOutcome::kDrop;  // .lower() raises: skipped
  if (!rules.channels.count(std::string(channel)) && !rules.channels_lower.count(Lower(channel)))
    return FilterOutcome::kDrop;
  return rules.eventids.count(*eventid) ? FilterOutcome::kKeep : FilterOutcome::kDrop;
}

struct Flat {
  std::vector<Row> rows;
  std::vector<uint32_t> row_event;  // row i (row_id i+1) -> index into Corpus::events
  Schema schema;
  size_t filtered = 0, bad = 0;
  double flatten_s = 0, flatten_cpu_s = 0;
  bool ready = false;
};

Flat& GetFlat() {
  static Flat* f = new Flat();
  return *f;
}

void BuildFlat(const Corpus& corpus, const Rules& rules, Flat& flat) {
  flat = Flat();
  auto t0 = Clock::now();
  double c0 = ThreadCpu();
  simdjson::dom::parser parser;
  std::vector<std::string_view> path;
  std::string filename;
  for (size_t i = 0; i < corpus.events.size(); ++i) {
    const aegis::Event& ev = corpus.events[i];
    simdjson::dom::element root;
    if (parser.parse(ev.raw).get(root)) {
      ++flat.bad;
      continue;
    }
    if (Filter(root, rules) == FilterOutcome::kDrop) {
      ++flat.filtered;
      continue;
    }
    Row row;
    row.kv.reserve(48);
    // Zircolite adds OriginalLogfile (the file name) before flattening.
    {
      std::string_view src = ev.source;
      size_t slash = src.find_last_of("/!");
      filename.assign(slash == src.npos ? src : src.substr(slash + 1));
    }
    if (root.is_object()) {
      FlattenInto(root, path, row, flat.schema);
      Value v;
      v.kind = Value::kText;
      v.s = filename;
      row.Set("OriginalLogfile", std::move(v));
      flat.schema.Discover("OriginalLogfile", false);
    }
    flat.rows.push_back(std::move(row));
    flat.row_event.push_back(static_cast<uint32_t>(i));
  }
  flat.flatten_s = Seconds(t0, Clock::now());
  flat.flatten_cpu_s = ThreadCpu() - c0;
  flat.ready = true;
}

// ---- regexp(): Zircolite registers re.search as `regexp`; PCRE2 stands in for it.

struct Regex {
  pcre2_code* code = nullptr;
  pcre2_match_data* md = nullptr;
  ~Regex() {
    if (md) pcre2_match_data_free(md);
    if (code) pcre2_code_free(code);
  }
};

std::unordered_map<std::string, std::unique_ptr<Regex>>& RegexCache() {
  static auto* c = new std::unordered_map<std::string, std::unique_ptr<Regex>>();
  return *c;
}

void RegexpFunc(sqlite3_context* ctx, int, sqlite3_value** argv) {
  // udf_regex(x, y): y None -> 0; re.search(x, y) -> 1/0; a non-string raises TypeError.
  if (sqlite3_value_type(argv[1]) == SQLITE_NULL) {
    sqlite3_result_int(ctx, 0);
    return;
  }
  if (sqlite3_value_type(argv[0]) != SQLITE_TEXT || sqlite3_value_type(argv[1]) != SQLITE_TEXT) {
    sqlite3_result_error(ctx, "TypeError: expected string", -1);
    return;
  }
  auto* re = static_cast<Regex*>(sqlite3_get_auxdata(ctx, 0));
  if (!re) {
    std::string pat(reinterpret_cast<const char*>(sqlite3_value_text(argv[0])),
                    static_cast<size_t>(sqlite3_value_bytes(argv[0])));
    auto& slot = RegexCache()[pat];
    if (!slot) {
      slot = std::make_unique<Regex>();
      int err;
      PCRE2_SIZE off;
      slot->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pat.data()), pat.size(),
                                 PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &off,
                                 nullptr);
      if (slot->code) {
        pcre2_jit_compile(slot->code, PCRE2_JIT_COMPLETE);
        slot->md = pcre2_match_data_create_from_pattern(slot->code, nullptr);
      }
    }
    re = slot.get();
    sqlite3_set_auxdata(ctx, 0, re, nullptr);
  }
  if (!re->code) {
    sqlite3_result_error(ctx, "re.error", -1);
    return;
  }
  const unsigned char* s = sqlite3_value_text(argv[1]);
  int len = sqlite3_value_bytes(argv[1]);
  int rc = pcre2_match(re->code, s, static_cast<PCRE2_SIZE>(len), 0, 0, re->md, nullptr);
  sqlite3_result_int(ctx, rc >= 0 ? 1 : 0);
}

struct Db {
  sqlite3* db = nullptr;
  size_t rows = 0, columns = 0;
  double insert_s = 0, insert_cpu_s = 0;
  std::string error;
  ~Db() {
    if (db) sqlite3_close(db);
  }
};

bool Exec(sqlite3* db, const std::string& sql, std::string* err = nullptr) {
  char* msg = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    if (err) *err = msg ? msg : "error";
    sqlite3_free(msg);
    return false;
  }
  return true;
}

std::string Quote(std::string_view col) {
  std::string q = "\"";
  for (char c : col) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

// Creates the database and inserts every flattened row the way Zircolite does.
std::unique_ptr<Db> BuildDb(const Flat& flat) {
  auto d = std::make_unique<Db>();
  auto t0 = Clock::now();
  double c0 = ThreadCpu();
  if (sqlite3_open(":memory:", &d->db) != SQLITE_OK) {
    d->error = "sqlite3_open failed";
    return d;
  }
  for (const char* p : {"PRAGMA journal_mode = OFF;", "PRAGMA synchronous = OFF;",
                        "PRAGMA cache_size = -128000;", "PRAGMA locking_mode = EXCLUSIVE;",
                        "PRAGMA temp_store = MEMORY;", "PRAGMA mmap_size = 268435456;",
                        "PRAGMA page_size = 4096;", "PRAGMA threads = 4;"})
    Exec(d->db, p);
  sqlite3_create_function(d->db, "regexp", 2, SQLITE_UTF8, nullptr, RegexpFunc, nullptr, nullptr);
  Exec(d->db, "CREATE TABLE IF NOT EXISTS logs (row_id INTEGER PRIMARY KEY AUTOINCREMENT)");
  std::unordered_set<std::string> db_columns = {"row_id"};
  const size_t kBatch = 5000;
  std::vector<std::string> last_cols;
  sqlite3_stmt* ins = nullptr;
  for (size_t b = 0; b < flat.rows.size(); b += kBatch) {
    size_t e = std::min(flat.rows.size(), b + kBatch);
    std::set<std::string> colset;
    for (size_t i = b; i < e; ++i)
      for (const auto& [k, v] : flat.rows[i].kv) colset.insert(k);
    std::vector<std::string> cols(colset.begin(), colset.end());  // sorted (code points)
    bool changed = false;
    for (const std::string& c : cols) {
      if (db_columns.count(Lower(c))) continue;
      auto it = flat.schema.field_types.find(c);
      std::string type = it == flat.schema.field_types.end() ? "TEXT COLLATE NOCASE" : it->second;
      if (Exec(d->db, "ALTER TABLE logs ADD COLUMN " + Quote(c) + " " + type)) {
        db_columns.insert(Lower(c));
        changed = true;
      }
    }
    if (!ins || changed || cols != last_cols) {
      if (ins) sqlite3_finalize(ins);
      std::string sql = "INSERT INTO logs (";
      for (size_t i = 0; i < cols.size(); ++i) sql += (i ? ", " : "") + Quote(cols[i]);
      sql += ") VALUES (";
      for (size_t i = 0; i < cols.size(); ++i) sql += i ? ", ?" : "?";
      sql += ")";
      if (sqlite3_prepare_v2(d->db, sql.c_str(), -1, &ins, nullptr) != SQLITE_OK) {
        d->error = std::string("prepare insert: ") + sqlite3_errmsg(d->db);
        return d;
      }
      last_cols = cols;
    }
    std::unordered_map<std::string_view, int> index;
    for (size_t i = 0; i < cols.size(); ++i) index[cols[i]] = static_cast<int>(i) + 1;
    Exec(d->db, "BEGIN TRANSACTION");
    for (size_t i = b; i < e; ++i) {
      sqlite3_reset(ins);
      sqlite3_clear_bindings(ins);
      for (const auto& [k, v] : flat.rows[i].kv) {
        int at = index[k];
        switch (v.kind) {
          case Value::kNull: break;
          case Value::kInt: sqlite3_bind_int64(ins, at, v.i); break;
          case Value::kReal: sqlite3_bind_double(ins, at, v.d); break;
          case Value::kText:
            sqlite3_bind_text(ins, at, v.s.data(), static_cast<int>(v.s.size()), SQLITE_STATIC);
            break;
        }
      }
      if (sqlite3_step(ins) != SQLITE_DONE) {
        d->error = std::string("insert: ") + sqlite3_errmsg(d->db);
        sqlite3_finalize(ins);
        return d;
      }
      ++d->rows;
    }
    Exec(d->db, "COMMIT");
  }
  if (ins) sqlite3_finalize(ins);
  Exec(d->db, "CREATE INDEX \"idx_eventid\" ON \"logs\" (\"eventid\");");
  d->columns = db_columns.size();
  d->insert_s = Seconds(t0, Clock::now());
  d->insert_cpu_s = ThreadCpu() - c0;
  return d;
}

struct QueryResult {
  // Per unique SQL text (Zircolite removes rules whose SQL repeats another's).
  std::map<std::string, std::vector<uint32_t>> rows_by_sql;  // row_ids matched
  size_t queries = 0, prepare_errors = 0, step_errors = 0;
  double query_s = 0, query_cpu_s = 0;
};

// Runs every unique rule SQL once; a query that fails counts as no rows (as in
// Zircolite's execute_select_query).
QueryResult RunQueries(sqlite3* db, const Rules& rules) {
  QueryResult q;
  std::vector<const std::string*> order;
  std::unordered_set<std::string> seen;
  for (const Rule& r : rules.rules)
    for (const std::string& s : r.sql)
      if (seen.insert(s).second) order.push_back(&s);
  auto t0 = Clock::now();
  double c0 = ThreadCpu();
  for (const std::string* sql : order) {
    ++q.queries;
    sqlite3_stmt* st = nullptr;
    std::vector<uint32_t>& out = q.rows_by_sql[*sql];
    if (sqlite3_prepare_v2(db, sql->c_str(), -1, &st, nullptr) != SQLITE_OK) {
      ++q.prepare_errors;
      if (st) sqlite3_finalize(st);
      continue;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
      out.push_back(static_cast<uint32_t>(sqlite3_column_int64(st, 0)));
    if (rc != SQLITE_DONE) {
      ++q.step_errors;
      out.clear();
    }
    sqlite3_finalize(st);
  }
  q.query_s = Seconds(t0, Clock::now());
  q.query_cpu_s = ThreadCpu() - c0;
  return q;
}

struct State {
  std::unique_ptr<Db> db;
  std::optional<QueryResult> result;
};
State& GetState() {
  static State* s = new State();
  return *s;
}

}  // namespace peer

// Figures recorded by the benchmarks for the summary printed by main().
struct Figures {
  // events/s over wall-clock time and over CPU time (per core)
  double aegis_match_eps = 0, aegis_e2e_eps = 0, aegis_2t_eps = 0;
  double aegis_match_cpu_eps = 0, aegis_e2e_cpu_eps = 0, aegis_2t_cpu_eps = 0;
  double peer_flatten_cpu_s = 0, peer_insert_cpu_s = 0, peer_query_cpu_s = 0;
  double aegis_rule_load_s = 0, aegis_rules_rss_mib = 0;
  double peer_flatten_s = 0, peer_insert_s = 0, peer_query_s = 0;
  double peer_rss_mib = 0;
  double peak_before_peer_mib = 0;  // ru_maxrss when the peer's first phase starts
};
Figures& Fig() {
  static Figures f;
  return f;
}

#ifndef SIGMA_BENCH_PEER_ONLY
namespace sigma = aegis::detect::sigma;

struct AegisRules {
  std::optional<sigma::LoadResult> loaded;
  double load_s = 0;
  double rss_growth_mib = 0;
  std::string error;
};

AegisRules& GetAegisRules() {
  static AegisRules* r = [] {
    auto* a = new AegisRules();
    for (const auto& f : kSigmaFolders)
      if (!fs::exists(f)) {
        a->error = "Sigma rules not found: " + f;
        return a;
      }
    double rss0 = RssMiB();
    auto t0 = Clock::now();
    auto res = sigma::LoadRules(kSigmaFolders, {});
    a->load_s = Seconds(t0, Clock::now());
    a->rss_growth_mib = RssMiB() - rss0;
    if (!res) a->error = "LoadRules: " + res.error().ToString();
    else a->loaded = std::move(*res);
    return a;
  }();
  return *r;
}

// Events matched per rule (indexes into Corpus::events), from one full pass.
std::vector<std::vector<uint32_t>>& AegisHits() {
  static std::vector<std::vector<uint32_t>> hits;
  return hits;
}

void BM_SigmaRuleLoad(benchmark::State& state) {
  AegisRules& ar = GetAegisRules();  // the first load, kept for matching (and its RSS)
  if (!ar.loaded) {
    state.SkipWithError(ar.error.c_str());
    return;
  }
  size_t rules = 0;
  bool first = true;
  for (auto _ : state) {
    if (first) {  // the load done above is this iteration's measurement
      state.SetIterationTime(ar.load_s);
      first = false;
      rules = ar.loaded->rules_loaded;
      continue;
    }
    auto t0 = Clock::now();
    auto res = sigma::LoadRules(kSigmaFolders, {});
    state.SetIterationTime(Seconds(t0, Clock::now()));
    if (res) rules = res->rules_loaded;
  }
  const auto& l = *ar.loaded;
  Fig().aegis_rule_load_s = ar.load_s;
  Fig().aegis_rules_rss_mib = ar.rss_growth_mib;
  state.counters["rules"] = static_cast<double>(rules);
  state.counters["files"] = static_cast<double>(l.files);
  state.counters["issues"] = static_cast<double>(l.issues.size());
  state.counters["correlations"] = static_cast<double>(l.correlations);
  state.counters["literals"] = static_cast<double>(l.literals);
  state.counters["always_eval"] = static_cast<double>(l.always_evaluated);
  state.counters["rss_MiB"] = ar.rss_growth_mib;
}
BENCHMARK(BM_SigmaRuleLoad)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(1);

bool AegisReady(benchmark::State& state) {
  Corpus& c = GetCorpus();
  if (!c.error.empty()) {
    state.SkipWithError(c.error.c_str());
    return false;
  }
  AegisRules& ar = GetAegisRules();
  if (!ar.loaded) {
    state.SkipWithError(ar.error.c_str());
    return false;
  }
  return true;
}

void CollectAegisHits() {
  Corpus& c = GetCorpus();
  AegisRules& ar = GetAegisRules();
  auto& hits = AegisHits();
  hits.assign(sigma::RuleCount(*ar.loaded->rules), {});
  sigma::Matcher m(ar.loaded->rules);
  std::vector<sigma::RuleMatch> out;
  for (size_t i = 0; i < c.events.size(); ++i) {
    out.clear();
    m.Match(c.events[i], out);
    for (const auto& rm : out) hits[rm.rule].push_back(static_cast<uint32_t>(i));
  }
}

void BM_AegisMatch(benchmark::State& state) {
  if (!AegisReady(state)) return;
  Corpus& c = GetCorpus();
  AegisRules& ar = GetAegisRules();
  sigma::Matcher matcher(ar.loaded->rules);
  std::vector<sigma::RuleMatch> out;
  auto& hits = AegisHits();
  bool collect = hits.empty();
  if (collect) hits.assign(sigma::RuleCount(*ar.loaded->rules), {});
  uint64_t matches = 0;
  double cpu = 0, wall = 0;
  for (auto _ : state) {
    auto t0 = Clock::now();
    double c0 = ThreadCpu();
    for (size_t i = 0; i < c.events.size(); ++i) {
      out.clear();
      matcher.Match(c.events[i], out);
      matches += out.size();
      if (collect)
        for (const auto& rm : out) hits[rm.rule].push_back(static_cast<uint32_t>(i));
    }
    collect = false;
    cpu += ThreadCpu() - c0;
    wall += Seconds(t0, Clock::now());
  }
  double evs = static_cast<double>(c.events.size()) * static_cast<double>(state.iterations());
  Fig().aegis_match_cpu_eps = evs / cpu;
  Fig().aegis_match_eps = evs / wall;
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * c.events.size()));
  const auto& st = matcher.stats();
  double it = static_cast<double>(state.iterations());
  state.counters["events"] = static_cast<double>(c.events.size());
  state.counters["matches"] = static_cast<double>(matches) / it;
  state.counters["candidates/ev"] =
      st.events ? static_cast<double>(st.candidates) / static_cast<double>(st.events) : 0;
  state.counters["unrouted"] = static_cast<double>(st.unrouted_events) / it;
  state.counters["regex_err"] = static_cast<double>(st.regex_errors) / it;
  state.counters["ev_per_s"] = benchmark::Counter(static_cast<double>(c.events.size()) * it,
                                                  benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AegisMatch)->Unit(benchmark::kMillisecond)->MinTime(1.0);

// Parse from the JSON lines (as the reader hands them over) + match.
void BM_AegisEndToEnd(benchmark::State& state) {
  if (!AegisReady(state)) return;
  Corpus& c = GetCorpus();
  AegisRules& ar = GetAegisRules();
  sigma::Matcher matcher(ar.loaded->rules);
  std::map<aegis::EventFormat, std::unique_ptr<aegis::ingest::RecordParser>> parsers;
  for (const auto& ev : c.events)
    if (!parsers.count(ev.format)) parsers[ev.format] = aegis::ingest::MakeParser(ev.format);
  aegis::Event ev;
  std::vector<sigma::RuleMatch> out;
  uint64_t matches = 0, bad = 0;
  double cpu = 0, wall = 0;
  for (auto _ : state) {
    auto t0 = Clock::now();
    double c0 = ThreadCpu();
    for (const aegis::Event& src : c.events) {
      ev.Clear();
      ev.format = src.format;
      ev.raw.assign(src.raw);
      auto& p = parsers[src.format];
      if (!p) {
        ++bad;
        continue;
      }
      auto r = p->Parse(src.raw, ev);
      if (!r || *r != aegis::ingest::ParseOutcome::kEvent) {
        ++bad;
        continue;
      }
      out.clear();
      matcher.Match(ev, out);
      matches += out.size();
    }
    cpu += ThreadCpu() - c0;
    wall += Seconds(t0, Clock::now());
  }
  double evs = static_cast<double>(c.events.size()) * static_cast<double>(state.iterations());
  Fig().aegis_e2e_cpu_eps = evs / cpu;
  Fig().aegis_e2e_eps = evs / wall;
  double it = static_cast<double>(state.iterations());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * c.events.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * c.bytes));
  state.counters["matches"] = static_cast<double>(matches) / it;
  state.counters["parse_fail"] = static_cast<double>(bad) / it;
  state.counters["ev_per_s"] = benchmark::Counter(static_cast<double>(c.events.size()) * it,
                                                  benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AegisEndToEnd)->Unit(benchmark::kMillisecond)->MinTime(1.0);

// Two Matchers on two threads, taking chunks of events from a shared counter.
void BM_AegisMatch2Threads(benchmark::State& state) {
  if (!AegisReady(state)) return;
  Corpus& c = GetCorpus();
  AegisRules& ar = GetAegisRules();
  const int kThreads = 2;
  std::vector<std::unique_ptr<sigma::Matcher>> matchers;
  for (int t = 0; t < kThreads; ++t) matchers.push_back(std::make_unique<sigma::Matcher>(ar.loaded->rules));
  std::atomic<uint64_t> matches{0};
  std::atomic<double> thread_cpu{0};
  double wall = 0;
  for (auto _ : state) {
    auto t0 = Clock::now();
    std::atomic<size_t> next{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        std::vector<sigma::RuleMatch> out;
        uint64_t local = 0;
        double c0 = ThreadCpu();
        const size_t kChunk = 512;
        for (size_t b; (b = next.fetch_add(kChunk)) < c.events.size();) {
          size_t e = std::min(c.events.size(), b + kChunk);
          for (size_t i = b; i < e; ++i) {
            out.clear();
            matchers[t]->Match(c.events[i], out);
            local += out.size();
          }
        }
        matches += local;
        double used = ThreadCpu() - c0, cur = thread_cpu.load();
        while (!thread_cpu.compare_exchange_weak(cur, cur + used)) {
        }
      });
    for (auto& th : threads) th.join();
    wall += Seconds(t0, Clock::now());
  }
  double evs = static_cast<double>(c.events.size()) * static_cast<double>(state.iterations());
  Fig().aegis_2t_eps = evs / wall;
  Fig().aegis_2t_cpu_eps = evs / thread_cpu.load();  // events per CPU-second, summed over threads
  double it = static_cast<double>(state.iterations());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * c.events.size()));
  state.counters["threads"] = kThreads;
  state.counters["matches"] = static_cast<double>(matches.load()) / it;
  state.counters["ev_per_s"] = benchmark::Counter(static_cast<double>(c.events.size()) * it,
                                                  benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AegisMatch2Threads)->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();
#endif  // SIGMA_BENCH_PEER_ONLY

bool PeerReady(benchmark::State& state) {
  Corpus& c = GetCorpus();
  if (Fig().peak_before_peer_mib == 0) Fig().peak_before_peer_mib = PeakRssMiB();
  if (!c.error.empty()) {
    state.SkipWithError(c.error.c_str());
    return false;
  }
  peer::Rules& r = peer::GetRules();
  if (!r.error.empty()) {
    state.SkipWithError(r.error.c_str());
    return false;
  }
  return true;
}

void EnsurePeer(bool need_db, bool need_result) {
  Corpus& c = GetCorpus();
  peer::Rules& r = peer::GetRules();
  peer::Flat& flat = peer::GetFlat();
  if (!flat.ready) peer::BuildFlat(c, r, flat);
  auto& st = peer::GetState();
  if ((need_db || need_result) && !st.db) {
    double rss0 = RssMiB();
    st.db = peer::BuildDb(flat);
    Fig().peer_rss_mib = RssMiB() - rss0;
  }
  if (need_result && !st.result && st.db && st.db->error.empty())
    st.result = peer::RunQueries(st.db->db, r);
}

// Zircolite's JSON parsing, event filter and flattening (orjson + Python in Zircolite).
void BM_PeerFlatten(benchmark::State& state) {
  if (!PeerReady(state)) return;
  Corpus& c = GetCorpus();
  peer::Flat& flat = peer::GetFlat();
  for (auto _ : state) {
    peer::BuildFlat(c, peer::GetRules(), flat);
    state.SetIterationTime(flat.flatten_s);
  }
  Fig().peer_flatten_s = flat.flatten_s;
  Fig().peer_flatten_cpu_s = flat.flatten_cpu_s;
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * c.events.size()));
  state.counters["rows"] = static_cast<double>(flat.rows.size());
  state.counters["filtered"] = static_cast<double>(flat.filtered);
  state.counters["fields"] = static_cast<double>(flat.schema.discovered.size());
}
BENCHMARK(BM_PeerFlatten)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(1);

// CREATE TABLE, ALTER TABLE ADD COLUMN, batched INSERTs, CREATE INDEX.
void BM_PeerInsert(benchmark::State& state) {
  if (!PeerReady(state)) return;
  EnsurePeer(false, false);
  auto& st = peer::GetState();
  for (auto _ : state) {
    st.result.reset();
    st.db.reset();
    double rss0 = RssMiB();
    st.db = peer::BuildDb(peer::GetFlat());
    Fig().peer_rss_mib = RssMiB() - rss0;
    state.SetIterationTime(st.db->insert_s);
  }
  if (!st.db->error.empty()) {
    state.SkipWithError(st.db->error.c_str());
    return;
  }
  Fig().peer_insert_s = st.db->insert_s;
  Fig().peer_insert_cpu_s = st.db->insert_cpu_s;
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * GetCorpus().events.size()));
  state.counters["rows"] = static_cast<double>(st.db->rows);
  state.counters["columns"] = static_cast<double>(st.db->columns);
  state.counters["db_rss_MiB"] = Fig().peer_rss_mib;
}
BENCHMARK(BM_PeerInsert)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(1);

// Every rule's SQL over the table.
void BM_PeerQuery(benchmark::State& state) {
  if (!PeerReady(state)) return;
  EnsurePeer(true, false);
  auto& st = peer::GetState();
  if (!st.db->error.empty()) {
    state.SkipWithError(st.db->error.c_str());
    return;
  }
  for (auto _ : state) {
    st.result = peer::RunQueries(st.db->db, peer::GetRules());
    state.SetIterationTime(st.result->query_s);
  }
  Fig().peer_query_s = st.result->query_s;
  Fig().peer_query_cpu_s = st.result->query_cpu_s;
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * GetCorpus().events.size()));
  state.counters["queries"] = static_cast<double>(st.result->queries);
  state.counters["sql_errors"] = static_cast<double>(st.result->prepare_errors + st.result->step_errors);
  state.counters["ev_per_s"] = benchmark::Counter(
      static_cast<double>(GetCorpus().events.size()) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PeerQuery)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(1);

// ---------------------------------------------------------------------------------
// Detection comparison.

struct YamlInfo {
  std::string path, date, modified;
};

// id -> file, date, modified of every rule YAML under the SigmaHQ folders.
[[maybe_unused]] std::unordered_map<std::string, YamlInfo> IndexYaml() {
  std::unordered_map<std::string, YamlInfo> out;
  for (const auto& folder : kSigmaFolders) {
    if (!fs::exists(folder)) continue;
    for (const auto& e : fs::recursive_directory_iterator(folder)) {
      auto ext = e.path().extension();
      if (!e.is_regular_file() || (ext != ".yml" && ext != ".yaml")) continue;
      std::ifstream in(e.path());
      std::string line, id;
      YamlInfo info;
      info.path = e.path().string();
      auto value = [](const std::string& l, size_t n) {
        std::string v = l.substr(n);
        v.erase(0, v.find_first_not_of(" \t'\""));
        while (!v.empty() && std::string(" \t\r'\"").find(v.back()) != std::string::npos) v.pop_back();
        return v;
      };
      while (std::getline(in, line)) {
        if (id.empty() && line.starts_with("id:")) id = value(line, 3);
        else if (line.starts_with("date:")) info.date = value(line, 5);
        else if (line.starts_with("modified:")) info.modified = value(line, 9);
      }
      if (!id.empty() && !out.count(id)) out[id] = info;
    }
  }
  return out;
}

// Column names a rule's SQL tests (outside quoted strings).
[[maybe_unused]] std::set<std::string> SqlColumns(const std::string& sql) {
  std::string bare;
  bool quoted = false;
  for (size_t i = 0; i < sql.size(); ++i) {
    char ch = sql[i];
    if (ch == '\'') {
      if (quoted && i + 1 < sql.size() && sql[i + 1] == '\'') {
        ++i;
        continue;
      }
      quoted = !quoted;
      bare += ' ';
      continue;
    }
    bare += quoted ? ' ' : ch;
  }
  static const std::set<std::string> kWords = {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "LIKE",
                                               "ESCAPE", "REGEXP", "IN", "IS", "NULL", "logs", "GLOB"};
  std::set<std::string> out;
  for (size_t i = 0; i < bare.size();) {
    if (std::isalpha(static_cast<unsigned char>(bare[i])) || bare[i] == '_') {
      size_t j = i;
      while (j < bare.size() && (std::isalnum(static_cast<unsigned char>(bare[j])) || bare[j] == '_')) ++j;
      std::string w = bare.substr(i, j - i);
      if (!kWords.count(w) && (i == 0 || bare[i - 1] != '.')) out.insert(w);
      i = j;
    } else {
      ++i;
    }
  }
  return out;
}

// Why the peer did not match an event Aegis matched: the peer's SQL has no variant for
// the event's Channel/EventID (logsource coverage), or it tests fields the event lacks
// (field naming/mapping), or neither (detection logic or value semantics).
[[maybe_unused]] std::string DiagnoseAegisOnly(const std::vector<const peer::Rule*>& rules, const aegis::Event& ev) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(ev.raw).get(root)) return "unparsable event";
  std::string channel;
  int64_t eventid = -1;
  std::string_view sv;
  if (!root["Channel"].get_string().get(sv)) channel = sv;
  int64_t x;
  if (!root["EventID"].get_int64().get(x)) eventid = x;
  else if (!root["EventID"].get_string().get(sv)) std::from_chars(sv.data(), sv.data() + sv.size(), eventid);
  bool covered = false;
  for (const peer::Rule* r : rules) {
    bool ch = r->channels.empty(), id = r->eventids.empty();
    for (const auto& c : r->channels) ch = ch || peer::Lower(c) == peer::Lower(channel);
    for (auto i : r->eventids) id = id || i == eventid;
    covered = covered || (ch && id);
  }
  if (!covered)
    return "logsource: peer SQL has no variant for Channel=" + channel + " EventID=" + std::to_string(eventid);
  peer::Row row;
  peer::Schema schema;
  std::vector<std::string_view> path;
  peer::FlattenInto(root, path, row, schema);
  std::set<std::string> present;
  for (const auto& [k, v] : row.kv) present.insert(peer::Lower(k));
  std::set<std::string> missing;
  for (const peer::Rule* r : rules)
    for (const auto& sql : r->sql)
      for (const auto& col : SqlColumns(sql))
        if (!present.count(peer::Lower(col))) missing.insert(col);
  if (!missing.empty()) {
    std::string m;
    for (const auto& c : missing) m += (m.empty() ? "" : ",") + c;
    return "fields: SQL tests fields absent from the event: " + m;
  }
  return "logic: same fields present, the SQL condition is false";
}

[[maybe_unused]] std::string EventRef(const aegis::Event& ev) {
  std::string s = ev.source;
  size_t cut = s.find("/datasets/");
  if (cut != std::string::npos) s = s.substr(cut + 10);
  return s + ":" + std::to_string(ev.line);
}

void Compare() {
#ifdef SIGMA_BENCH_PEER_ONLY
  std::printf("comparison: skipped (peer-only build)\n");
#else
  Corpus& c = GetCorpus();
  AegisRules& ar = GetAegisRules();
  peer::Rules& pr = peer::GetRules();
  auto& st = peer::GetState();
  if (!c.error.empty() || !ar.loaded || !pr.error.empty()) {
    std::printf("comparison: skipped (%s)\n",
                !c.error.empty() ? c.error.c_str() : !ar.loaded ? ar.error.c_str() : pr.error.c_str());
    return;
  }
  EnsurePeer(true, true);
  if (!st.result) {
    std::printf("comparison: skipped (peer database: %s)\n", st.db ? st.db->error.c_str() : "?");
    return;
  }
  if (AegisHits().empty()) CollectAegisHits();
  const auto& rules = *ar.loaded->rules;
  std::unordered_map<std::string, size_t> aegis_by_id;
  for (size_t i = 0; i < sigma::RuleCount(rules); ++i) aegis_by_id.emplace(sigma::RuleAt(rules, i).id, i);
  const auto& flat = peer::GetFlat();

  // Peer: events per rule id, the union over both rule sets' SQL for that id.
  std::map<std::string, std::vector<uint32_t>> peer_events;
  std::map<std::string, const peer::Rule*> peer_rule;
  std::map<std::string, std::vector<const peer::Rule*>> peer_rules_by_id;
  for (const peer::Rule& r : pr.rules) {
    auto& ev = peer_events[r.id];
    if (!peer_rule.count(r.id)) peer_rule[r.id] = &r;
    peer_rules_by_id[r.id].push_back(&r);
    for (const std::string& sql : r.sql) {
      auto it = st.result->rows_by_sql.find(sql);
      if (it == st.result->rows_by_sql.end()) continue;
      for (uint32_t row_id : it->second)
        if (row_id >= 1 && row_id <= flat.row_event.size()) ev.push_back(flat.row_event[row_id - 1]);
    }
    std::sort(ev.begin(), ev.end());
    ev.erase(std::unique(ev.begin(), ev.end()), ev.end());
  }

  auto yaml = IndexYaml();
  std::unordered_map<std::string, std::string> issue_by_path;
  for (const auto& is : ar.loaded->issues) issue_by_path.emplace(is.path, is.reason);

  const char* env = std::getenv("SIGMA_COMPARE_OUT");
  std::string out_path = env && *env ? env : "/tmp/sigma-compare.tsv";
  std::ofstream out(out_path);
  out << "rule_id\ttitle\tlevel\taegis_count\tpeer_count\taegis_only\tpeer_only\t"
         "yaml_modified\tchanged_since_peer\treason_first_aegis_only\texample_aegis_only\texample_peer_only\tyaml_path\n";
  size_t agree = 0, agree_nonzero = 0, disagree = 0, absent = 0, absent_matching = 0;
  size_t aegis_more = 0, peer_more = 0, changed_disagree = 0;
  std::map<std::string, size_t> reasons;
  std::vector<std::string> absent_lines;
  for (const auto& [id, pev] : peer_events) {
    const peer::Rule& r = *peer_rule[id];
    auto ai = aegis_by_id.find(id);
    auto y = yaml.find(id);
    std::string ymod = y == yaml.end() ? "" : (y->second.modified.empty() ? y->second.date : y->second.modified);
    // YYYY-MM-DD vs the peer's snapshot month: "yes" after it, "maybe" within it.
    std::string changed = ymod.empty() ? "?" : ymod.substr(0, 7) > kPeerSnapshot ? "yes"
                                             : ymod.substr(0, 7) == kPeerSnapshot ? "maybe" : "no";
    if (ai == aegis_by_id.end()) {
      ++absent;
      if (!pev.empty()) ++absent_matching;
      std::string why = y == yaml.end() ? "no YAML with this id in the SigmaHQ folders"
                        : issue_by_path.count(y->second.path) ? "did not load: " + issue_by_path[y->second.path]
                                                               : "YAML present but not loaded (filtered/deprecated?)";
      absent_lines.push_back(id + "  peer=" + std::to_string(pev.size()) + "  " + r.title + "  [" + why + "]");
      continue;
    }
    const auto& aev = AegisHits()[ai->second];  // ascending, one entry per event
    if (aev.size() == pev.size() && aev == pev) {
      ++agree;
      if (!aev.empty()) ++agree_nonzero;
      continue;
    }
    ++disagree;
    std::vector<uint32_t> only_a, only_p;
    std::set_difference(aev.begin(), aev.end(), pev.begin(), pev.end(), std::back_inserter(only_a));
    std::set_difference(pev.begin(), pev.end(), aev.begin(), aev.end(), std::back_inserter(only_p));
    if (aev.size() > pev.size()) ++aegis_more;
    else if (aev.size() < pev.size()) ++peer_more;
    if (changed == "yes" || changed == "maybe") ++changed_disagree;
    std::string reason = only_a.empty() ? "" : DiagnoseAegisOnly(peer_rules_by_id[id], c.events[only_a[0]]);
    reasons[reason.substr(0, reason.find(':'))]++;
    out << id << '\t' << r.title << '\t' << r.level << '\t' << aev.size() << '\t' << pev.size() << '\t'
        << only_a.size() << '\t' << only_p.size() << '\t' << ymod << '\t' << changed << '\t' << reason << '\t'
        << (only_a.empty() ? "" : EventRef(c.events[only_a[0]])) << '\t'
        << (only_p.empty() ? "" : EventRef(c.events[only_p[0]])) << '\t'
        << (y == yaml.end() ? "" : y->second.path.substr(kShared.size() + 1)) << '\n';
    std::printf("  DIFF %s aegis=%zu peer=%zu (aegis-only %zu, peer-only %zu) yaml modified %s%s  %s%s%s\n",
                id.c_str(), aev.size(), pev.size(), only_a.size(), only_p.size(),
                ymod.empty() ? "?" : ymod.c_str(),
                changed == "yes" ? " (after the peer's snapshot)" : changed == "maybe" ? " (peer's snapshot month)" : "",
                r.title.c_str(), reason.empty() ? "" : "\n       aegis-only because ", reason.c_str());
  }
  for (const auto& l : absent_lines) out << "# absent from Aegis: " << l << '\n';
  std::printf("\n=== Detection comparison (same %zu events; peer: %zu rule ids from %s + %s) ===\n",
              c.events.size(), peer_events.size(), kPeerRuleFiles[0], kPeerRuleFiles[1]);
  std::printf("rules agreeing:            %zu (%zu of them with matches)\n", agree, agree_nonzero);
  std::printf("rules disagreeing:         %zu (aegis more: %zu, peer more: %zu, same count/different events: %zu; "
              "YAML modified in/after %s: %zu)\n",
              disagree, aegis_more, peer_more, disagree - aegis_more - peer_more, kPeerSnapshot.c_str(),
              changed_disagree);
  std::printf("  aegis-only events, first one per rule, classified:");
  for (const auto& [k, v] : reasons)
    if (!k.empty()) std::printf(" %s=%zu", k.c_str(), v);
  std::printf("\n");
  std::printf("peer rules absent from Aegis: %zu (%zu of them match events in the peer)\n", absent, absent_matching);
  for (size_t i = 0; i < absent_lines.size() && i < 15; ++i) std::printf("  ABSENT %s\n", absent_lines[i].c_str());
  if (absent_lines.size() > 15) std::printf("  ... %zu more in %s\n", absent_lines.size() - 15, out_path.c_str());
  std::printf("peer SQL errors: %zu prepare (e.g. no such column: counted as 0 rows, as Zircolite does), %zu at run time\n",
              st.result->prepare_errors, st.result->step_errors);
  std::printf("table of disagreements: %s\n", out_path.c_str());
#endif
}

void PrintSummary() {
  Corpus& c = GetCorpus();
  if (!c.error.empty()) {
    std::printf("SKIPPED: %s\n", c.error.c_str());
    return;
  }
  Figures& f = Fig();
  double n = static_cast<double>(c.events.size());
  std::printf("\n=== Sigma: Aegis vs Zircolite-style SQLite peer ===\n");
  std::printf("events: %zu from %zu OTRF files (%.1f MiB JSON), read in %.2f s, +%.0f MiB RSS; %zu files gave no "
              "events (packet captures, winlogbeat-nested JSON), %zu files/members of no known format skipped, %llu bad "
              "lines\n",
              c.events.size(), c.files, static_cast<double>(c.bytes) / 1048576.0, c.load_s, c.rss_growth_mib,
              c.files_without_events, c.skipped_files, static_cast<unsigned long long>(c.bad_records));
#ifndef SIGMA_BENCH_PEER_ONLY
  AegisRules& ar = GetAegisRules();
  if (ar.loaded) {
    const auto& l = *ar.loaded;
    std::printf("Aegis rule load: %.2f s for %zu files -> %zu rules (%zu correlations, %zu issues, %zu unrouted, "
                "%zu literals, %zu always evaluated), +%.1f MiB RSS\n",
                ar.load_s, l.files, l.rules_loaded, l.correlations, l.issues.size(), l.unrouted, l.literals,
                l.always_evaluated, ar.rss_growth_mib);
  }
  if (f.aegis_match_eps > 0)
    std::printf("Aegis match, 1 thread:        %10.0f events/s wall, %10.0f events per CPU-second\n",
                f.aegis_match_eps, f.aegis_match_cpu_eps);
  if (f.aegis_e2e_eps > 0)
    std::printf("Aegis parse+match, 1 thread:  %10.0f events/s wall, %10.0f events per CPU-second\n",
                f.aegis_e2e_eps, f.aegis_e2e_cpu_eps);
  if (f.aegis_2t_eps > 0)
    std::printf("Aegis match, 2 threads:       %10.0f events/s wall (speed-up x%.2f over 1 thread), %.0f events per "
                "CPU-second (per-thread efficiency %.0f%%)\n",
                f.aegis_2t_eps, f.aegis_match_eps > 0 ? f.aegis_2t_eps / f.aegis_match_eps : 0.0,
                f.aegis_2t_cpu_eps, f.aegis_match_cpu_eps > 0 ? 100.0 * f.aegis_2t_cpu_eps / f.aegis_match_cpu_eps : 0.0);
#endif
  peer::Rules& pr = peer::GetRules();
  peer::Flat& flat = peer::GetFlat();
  auto& st = peer::GetState();
  if (pr.error.empty()) {
    std::printf("peer rules: %zu (%s + %s), JSON load %.3f s; event filter %s (%zu channels, %zu event ids)\n",
                pr.rules.size(), kPeerRuleFiles[0], kPeerRuleFiles[1], pr.load_s,
                pr.filter_enabled ? "on" : "off", pr.channels.size(), pr.eventids.size());
    std::printf("peer flatten: %.2f s (%zu rows kept, %zu events dropped by the filter, %zu fields)\n",
                f.peer_flatten_s, flat.rows.size(), flat.filtered, flat.schema.discovered.size());
    if (st.db)
      std::printf("peer insert:  %.2f s (%zu rows, %zu columns, +%.0f MiB RSS)\n", f.peer_insert_s, st.db->rows,
                  st.db->columns, f.peer_rss_mib);
    if (st.result)
      std::printf("peer query:   %.2f s (%zu unique SQL queries)\n", f.peer_query_s, st.result->queries);
    auto rate = [&](double secs) { return secs > 0 ? n / secs : 0.0; };
    double q_eps = rate(f.peer_query_s), q_cpu = rate(f.peer_query_cpu_s);
    double all_eps = f.peer_query_s > 0 ? rate(f.peer_flatten_s + f.peer_insert_s + f.peer_query_s) : 0;
    double all_cpu = f.peer_query_cpu_s > 0 ? rate(f.peer_flatten_cpu_s + f.peer_insert_cpu_s + f.peer_query_cpu_s) : 0;
    std::printf("peer CPU seconds: flatten %.2f, insert %.2f, query %.2f\n", f.peer_flatten_cpu_s,
                f.peer_insert_cpu_s, f.peer_query_cpu_s);
    std::printf("peer query only:             %10.0f events/s wall, %10.0f events per CPU-second\n", q_eps, q_cpu);
    std::printf("peer flatten+insert+query:   %10.0f events/s wall, %10.0f events per CPU-second\n", all_eps, all_cpu);
    if (f.aegis_match_eps > 0 && q_eps > 0)
      std::printf("RATIO Aegis match / peer query:                         x%.2f wall, x%.2f CPU\n",
                  f.aegis_match_eps / q_eps, f.aegis_match_cpu_eps / q_cpu);
    if (f.aegis_e2e_eps > 0 && all_eps > 0)
      std::printf("RATIO Aegis parse+match / peer flatten+insert+query:    x%.2f wall, x%.2f CPU\n",
                  f.aegis_e2e_eps / all_eps, f.aegis_e2e_cpu_eps / all_cpu);
  }
  double load[3] = {0, 0, 0};
  if (getloadavg(load, 3) > 0)
    std::printf("machine: %u cores, load average %.2f %.2f %.2f (wall-clock rates suffer when it exceeds the "
                "cores; CPU-second rates do not)\n",
                std::thread::hardware_concurrency(), load[0], load[1], load[2]);
  std::printf("memory: peak RSS (ru_maxrss) %.0f MiB before the peer ran (events in memory + Aegis rules + "
              "matchers), %.0f MiB for the whole run (+ peer rows + SQLite)\n",
              Fig().peak_before_peer_mib, PeakRssMiB());
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (!fs::exists(kShared)) {
    std::printf("SKIPPED: shared data not found at %s (AEGIS_SHARED_DATA)\n", kShared.c_str());
    return 0;
  }
  benchmark::RunSpecifiedBenchmarks();
  std::fflush(stdout);
  PrintSummary();
  Compare();
  benchmark::Shutdown();
  return 0;
}
