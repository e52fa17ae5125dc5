// `aegis sigma check` and the shared --sigma options.
#include "cli/sigma_cli.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "cli/output.h"

namespace aegis::cli {
namespace {

std::string IssueJson(const detect::sigma::LoadIssue& issue) {
  JsonObject o;
  o.Str("path", issue.path).Num("line", static_cast<uint64_t>(issue.line));
  o.Str("rule", issue.rule).Str("reason", issue.reason);
  return o.Close();
}

std::string IssuesJson(const std::vector<detect::sigma::LoadIssue>& issues) {
  std::string out = "[";
  for (size_t i = 0; i < issues.size(); ++i) {
    if (i) out += ',';
    out += IssueJson(issues[i]);
  }
  return out + "]";
}

}  // namespace

void SigmaFlags::Add(CLI::App* cmd, bool positional) {
  if (positional) {
    cmd->add_option("rules", paths, "Sigma rule files or folders (searched recursively)")
        ->required();
  } else {
    cmd->add_option("--sigma,-s", paths,
                    "Sigma rule file or folder (rules, filters, correlations); repeatable")
        ->expected(1)
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  }
  cmd->add_option("--sigma-level", min_level,
                  "Only rules at or above this level: informational, low, medium, high, "
                  "critical")
      ->capture_default_str();
  cmd->add_option("--sigma-status", statuses,
                  "Only rules with these statuses (default: all but deprecated and "
                  "unsupported); repeatable")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--sigma-tag", tags,
                  "Only rules with one of these tags (attack.t1059 also keeps "
                  "attack.t1059.001); repeatable")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--sigma-logsources", logsources,
                  "Logsource routing and field mapping (default: the built-in "
                  "config/sigma-logsources.yml)");
  cmd->add_option("--sigma-placeholder", placeholders,
                  "Values for the expand modifier: NAME=VALUE[,VALUE...]; repeatable")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

Result<detect::sigma::LoadOptions> SigmaFlags::ToOptions() const {
  detect::sigma::LoadOptions options;
  const auto level = ParseSeverity(min_level);
  if (!level) return Fail("unknown level '" + min_level + "'", "--sigma-level");
  options.filter.min_level = *level;
  options.filter.statuses = statuses;
  options.filter.tags = tags;
  options.logsource_mapping_path = logsources;
  for (const std::string& p : placeholders) {
    const size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Fail("expected NAME=VALUE[,VALUE...], got '" + p + "'", "--sigma-placeholder");
    }
    auto& values = options.placeholders[p.substr(0, eq)];
    size_t start = eq + 1;
    while (start <= p.size()) {
      const size_t comma = p.find(',', start);
      const std::string v = p.substr(start, comma == std::string::npos ? comma : comma - start);
      if (!v.empty()) values.push_back(v);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return options;
}

Result<detect::sigma::LoadResult> LoadSigmaRules(const SigmaFlags& flags, bool progress,
                                                 double* seconds) {
  auto options = flags.ToOptions();
  if (!options) return std::unexpected(options.error());
  ProgressBar bar("Loading Sigma rules", progress);
  if (progress) options->on_file = [&bar](size_t done, size_t total) { bar.Update(done, total); };
  const auto start = std::chrono::steady_clock::now();
  auto loaded = detect::sigma::LoadRules(flags.paths, *options);
  bar.Finish();
  if (seconds) {
    *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return loaded;
}

void PrintSigmaIssues(const detect::sigma::LoadResult& result, std::FILE* out, size_t limit) {
  for (size_t i = 0; i < result.issues.size() && i < limit; ++i) {
    const auto& issue = result.issues[i];
    std::fprintf(out, "%s:%d: %s%s%s\n", issue.path.c_str(), issue.line, issue.rule.c_str(),
                 issue.rule.empty() ? "" : ": ", issue.reason.c_str());
  }
  if (result.issues.size() > limit) {
    std::fprintf(out, "... %zu more (aegis sigma check lists them all)\n",
                 result.issues.size() - limit);
  }
}

int RunSigmaCheck(const SigmaFlags& flags, bool json, bool show_warnings) {
  const bool tty = isatty(STDERR_FILENO) && !json;
  double seconds = 0;
  auto loaded = LoadSigmaRules(flags, tty, &seconds);
  if (!loaded) {
    std::fprintf(stderr, "aegis: error: %s\n", loaded.error().ToString().c_str());
    return 1;
  }
  const auto& r = *loaded;
  if (json) {
    JsonObject o;
    o.Num("files", r.files).Num("rules_loaded", r.rules_loaded);
    o.Num("correlations", r.correlations).Num("filters", r.filters);
    o.Num("not_loaded", r.issues.size()).Num("filtered_out", r.filtered_out);
    o.Num("unrouted", r.unrouted).Num("inactive", r.inactive);
    o.Num("literals", r.literals).Num("hashed_atoms", r.hashed_atoms);
    o.Num("always_evaluated", r.always_evaluated);
    o.Float("load_seconds", seconds);
    o.Raw("issues", IssuesJson(r.issues));
    o.Raw("warnings", IssuesJson(r.warnings));
    std::printf("%s\n", o.Close().c_str());
  } else {
    PrintSigmaIssues(r, stdout, SIZE_MAX);
    if (show_warnings) {
      for (const auto& w : r.warnings) {
        std::printf("warning: %s:%d: %s: %s\n", w.path.c_str(), w.line, w.rule.c_str(),
                    w.reason.c_str());
      }
    }
    Table t({"", ""});
    t.Row({"files", Thousands(r.files)});
    t.Row({"rules loaded", Thousands(r.rules_loaded)});
    t.Row({"correlations", Thousands(r.correlations)});
    t.Row({"filters applied", Thousands(r.filters)});
    t.Row({"did not load", Thousands(r.issues.size())});
    if (r.filtered_out) t.Row({"left out by level/status/tag", Thousands(r.filtered_out)});
    t.Row({"no logsource mapping (see no events)", Thousands(r.unrouted)});
    if (r.inactive) {
      t.Row({"inactive (placeholders without values)",
             Thousands(r.inactive) + (show_warnings ? "" : " (--warnings lists them)")});
    }
    t.Row({"prefilter literals (scanned)", Thousands(r.literals)});
    t.Row({"prefilter values and path tails (hashed)", Thousands(r.hashed_atoms)});
    t.Row({"rules without a literal", Thousands(r.always_evaluated)});
    t.Row({"load time", Fixed(seconds, 2) + " s"});
    t.Print(stdout, /*header=*/false);
  }
  return r.issues.empty() ? 0 : 1;
}

}  // namespace aegis::cli
