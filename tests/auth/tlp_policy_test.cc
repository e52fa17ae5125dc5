// Tests for auth/tlp_policy.h: marking-id parsing, effective TLP, and a full matrix of
// organisations x markings x read paths checked against a hand-written expectation table.
#include "auth/tlp_policy.h"

#include <gtest/gtest.h>

#include <array>
#include <iostream>
#include <set>
#include <string>

namespace aegis::auth {
namespace {

// TLP 2.0 ids, written out again here (not taken from the table under test).
constexpr char kClear2[] = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
constexpr char kGreen2[] = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
constexpr char kAmber2[] = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
constexpr char kStrict2[] = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
constexpr char kRed2[] = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
// TLP 1.0 ids (STIX 2.1 section 7.2.1.4).
constexpr char kWhite1[] = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9";
constexpr char kGreen1[] = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da";
constexpr char kAmber1[] = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82";
constexpr char kRed1[] = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed";
constexpr char kUnknown[] = "marking-definition--00000000-1111-4222-8333-444444444444";

TEST(MarkingIdTest, KnowsTheNineStixIds) {
  const std::array<std::pair<const char*, Tlp>, 9> expected = {{
      {kClear2, Tlp::kClear},
      {kGreen2, Tlp::kGreen},
      {kAmber2, Tlp::kAmber},
      {kStrict2, Tlp::kAmberStrict},
      {kRed2, Tlp::kRed},
      {kWhite1, Tlp::kClear},
      {kGreen1, Tlp::kGreen},
      {kAmber1, Tlp::kAmber},
      {kRed1, Tlp::kRed},
  }};
  for (const auto& [id, tlp] : expected) {
    auto got = TlpFromMarkingId(id);
    ASSERT_TRUE(got) << id;
    EXPECT_EQ(*got, tlp) << id;
  }
  EXPECT_EQ(KnownMarkingIds().size(), expected.size());
  std::set<std::string_view> ids;
  for (const MarkingId& m : KnownMarkingIds()) {
    ids.insert(m.id);
    EXPECT_FALSE(m.source.empty());
  }
  EXPECT_EQ(ids.size(), expected.size()) << "duplicate id in the table";
}

TEST(MarkingIdTest, ExactMatchOnly) {
  EXPECT_FALSE(TlpFromMarkingId(kUnknown));
  EXPECT_FALSE(TlpFromMarkingId(""));
  EXPECT_FALSE(TlpFromMarkingId("MARKING-DEFINITION--613F2E26-407D-48C7-9ECA-B8E91DF99DC9"));
  EXPECT_FALSE(TlpFromMarkingId(std::string(kRed2) + " "));
  EXPECT_FALSE(TlpFromMarkingId(std::string(kRed2).substr(0, 40)));
  EXPECT_FALSE(TlpFromMarkingId("TLP:RED"));  // names go through ParseMarking
}

TEST(MarkingIdTest, ParseMarkingAcceptsIdsAndNames) {
  EXPECT_EQ(ParseMarking(kStrict2), Tlp::kAmberStrict);
  EXPECT_EQ(ParseMarking("TLP:AMBER+STRICT"), Tlp::kAmberStrict);
  EXPECT_EQ(ParseMarking("tlp:white"), Tlp::kClear);
  EXPECT_EQ(ParseMarking("Red"), Tlp::kRed);
  EXPECT_FALSE(ParseMarking(kUnknown));
  EXPECT_FALSE(ParseMarking("marking-definition--red"));  // an id is never read as a name
  EXPECT_FALSE(ParseMarking("tlp:ultraviolet"));
  EXPECT_FALSE(ParseMarking(""));
}

TEST(ResolveTlpTest, MostRestrictiveDefaultAndUnknown) {
  SharedObject o;
  o.producer_org = "trust-a";
  o.markings = {kGreen2, kUnknown, kAmber1, "TLP:CLEAR"};
  EffectiveTlp e = ResolveTlp(o);
  EXPECT_EQ(e.tlp, Tlp::kAmber);
  EXPECT_FALSE(e.defaulted);
  ASSERT_EQ(e.unknown_markings.size(), 1u);
  EXPECT_EQ(e.unknown_markings[0], kUnknown);

  o.markings = {};
  e = ResolveTlp(o);
  EXPECT_EQ(e.tlp, Tlp::kAmber);
  EXPECT_TRUE(e.defaulted);

  o.producer_default = Tlp::kGreen;
  e = ResolveTlp(o);
  EXPECT_EQ(e.tlp, Tlp::kGreen);
  EXPECT_TRUE(e.defaulted);

  o.markings = {kUnknown, "not-a-marking"};  // only unknown: as unmarked
  e = ResolveTlp(o);
  EXPECT_EQ(e.tlp, Tlp::kGreen);
  EXPECT_TRUE(e.defaulted);
  EXPECT_EQ(e.unknown_markings.size(), 2u);

  o.markings = {kRed1, kClear2};  // a recognised marking overrides the default
  e = ResolveTlp(o);
  EXPECT_EQ(e.tlp, Tlp::kRed);
  EXPECT_FALSE(e.defaulted);
}

// ---- The matrix ----------------------------------------------------------------

// Readers, in the column order of the expectation strings below.
const std::array<Reader, 5>& Readers() {
  static const std::array<Reader, 5> readers = {{
      {"ncsc", OrgType::kNationalCentre, true},
      {"trust-a", OrgType::kTrust, true},  // produces every object in the matrix
      {"trust-b", OrgType::kTrust, true},
      {"gp-1", OrgType::kGpPractice, true},
      {"sup-1", OrgType::kSupplier, true},
  }};
  return readers;
}

constexpr std::array<ReadPath, 4> kPaths = {ReadPath::kRest, ReadPath::kTaxii, ReadPath::kExport,
                                            ReadPath::kFederation};

struct Row {
  const char* name;
  std::vector<std::string> markings;
  std::optional<Tlp> producer_default;
  std::vector<std::string> share;
  std::vector<std::string> recipients;
  Tlp tlp;         // expected effective TLP
  size_t unknown;  // expected number of unknown markings recorded
  // Expected access per path (rest, taxii, export, federation); one character per
  // reader: ncsc, trust-a, trust-b, gp-1, sup-1. 'Y' allowed, '.' denied.
  std::array<const char*, 4> expect;
};

std::vector<Row> Rows() {
  using V = std::vector<std::string>;
  return {
      {"clear", V{kClear2}, {}, {}, {}, Tlp::kClear, 0, {"YYYYY", "YYYYY", "YYYYY", "YYYYY"}},
      {"green", V{kGreen2}, {}, {}, {}, Tlp::kGreen, 0, {"YYYYY", "YYYYY", "YYYYY", "YYYYY"}},
      {"amber, no share list",
       V{kAmber2},
       {},
       {},
       {},
       Tlp::kAmber,
       0,
       {".Y...", ".Y...", ".Y...", "....."}},
      {"amber, shared with ncsc+trust-b",
       V{kAmber2},
       {},
       V{"ncsc", "trust-b"},
       {},
       Tlp::kAmber,
       0,
       {"YYY..", "YYY..", "YYY..", "Y.Y.."}},
      {"amber+strict, share list ignored",
       V{kStrict2},
       {},
       V{"trust-b"},
       V{"gp-1"},
       Tlp::kAmberStrict,
       0,
       {".Y...", ".Y...", ".Y...", "....."}},
      {"red, recipient gp-1",
       V{kRed2},
       {},
       V{"trust-b"},
       V{"gp-1"},
       Tlp::kRed,
       0,
       {".Y.Y.", ".Y.Y.", ".Y.Y.", "....."}},
      {"red, no recipients",
       V{kRed2},
       {},
       {},
       {},
       Tlp::kRed,
       0,
       {".Y...", ".Y...", ".Y...", "....."}},
      {"unmarked, no default, shared with trust-b",
       V{},
       {},
       V{"trust-b"},
       {},
       Tlp::kAmber,
       0,
       {".YY..", ".YY..", ".YY..", "..Y.."}},
      {"unmarked, default green",
       V{},
       Tlp::kGreen,
       {},
       {},
       Tlp::kGreen,
       0,
       {"YYYYY", "YYYYY", "YYYYY", "YYYYY"}},
      {"unmarked, default red",
       V{},
       Tlp::kRed,
       {},
       V{"sup-1"},
       Tlp::kRed,
       0,
       {".Y..Y", ".Y..Y", ".Y..Y", "....."}},
      {"green+amber, shared with trust-b",
       V{kGreen2, kAmber2},
       {},
       V{"trust-b"},
       {},
       Tlp::kAmber,
       0,
       {".YY..", ".YY..", ".YY..", "..Y.."}},
      {"clear+red, recipient ncsc",
       V{kClear2, kRed2},
       {},
       {},
       V{"ncsc"},
       Tlp::kRed,
       0,
       {"YY...", "YY...", "YY...", "....."}},
      {"amber+amber+strict, shared with all",
       V{kAmber1, kStrict2},
       {},
       V{"ncsc", "trust-b", "gp-1", "sup-1"},
       {},
       Tlp::kAmberStrict,
       0,
       {".Y...", ".Y...", ".Y...", "....."}},
      {"tlp1 white", V{kWhite1}, {}, {}, {}, Tlp::kClear, 0, {"YYYYY", "YYYYY", "YYYYY", "YYYYY"}},
      {"tlp1 green", V{kGreen1}, {}, {}, {}, Tlp::kGreen, 0, {"YYYYY", "YYYYY", "YYYYY", "YYYYY"}},
      {"tlp1 amber, shared with sup-1",
       V{kAmber1},
       {},
       V{"sup-1"},
       {},
       Tlp::kAmber,
       0,
       {".Y..Y", ".Y..Y", ".Y..Y", "....Y"}},
      {"tlp1 red, recipient trust-b",
       V{kRed1},
       {},
       {},
       V{"trust-b"},
       Tlp::kRed,
       0,
       {".YY..", ".YY..", ".YY..", "....."}},
      {"unknown only",
       V{kUnknown},
       {},
       {},
       {},
       Tlp::kAmber,
       1,
       {".Y...", ".Y...", ".Y...", "....."}},
      {"unknown only, default clear",
       V{kUnknown},
       Tlp::kClear,
       {},
       {},
       Tlp::kClear,
       1,
       {"YYYYY", "YYYYY", "YYYYY", "YYYYY"}},
      {"unknown+green",
       V{kUnknown, kGreen2},
       {},
       {},
       {},
       Tlp::kGreen,
       1,
       {"YYYYY", "YYYYY", "YYYYY", "YYYYY"}},
      {"name TLP:AMBER+STRICT",
       V{"TLP:AMBER+STRICT"},
       {},
       {},
       {},
       Tlp::kAmberStrict,
       0,
       {".Y...", ".Y...", ".Y...", "....."}},
      {"name amber, shared with gp-1",
       V{"amber"},
       {},
       V{"gp-1"},
       {},
       Tlp::kAmber,
       0,
       {".Y.Y.", ".Y.Y.", ".Y.Y.", "...Y."}},
  };
}

TEST(TlpPolicyMatrixTest, EveryCellMatchesTheExpectationTable) {
  size_t cells = 0, allowed = 0, mismatches = 0;
  for (const Row& row : Rows()) {
    SharedObject o;
    o.id = row.name;
    o.producer_org = "trust-a";
    o.markings = row.markings;
    o.producer_default = row.producer_default;
    o.amber_share_with = row.share;
    o.red_recipients = row.recipients;
    for (size_t p = 0; p < kPaths.size(); ++p) {
      const std::string_view expect = row.expect[p];
      ASSERT_EQ(expect.size(), Readers().size()) << row.name;
      for (size_t r = 0; r < Readers().size(); ++r) {
        const Reader& reader = Readers()[r];
        Decision d = Decide(reader, o, kPaths[p]);
        ++cells;
        allowed += d.allowed;
        const bool want = expect[r] == 'Y';
        if (d.allowed != want) ++mismatches;
        EXPECT_EQ(d.allowed, want) << row.name << " / " << reader.org_id << " / "
                                   << ReadPathName(kPaths[p]) << ": " << d.reason;
        EXPECT_EQ(d.tlp, row.tlp) << row.name;
        EXPECT_EQ(d.unknown_markings.size(), row.unknown) << row.name;
        EXPECT_EQ(d.defaulted, row.markings.size() == row.unknown) << row.name;
        // The reason names path, verdict, object, reader and TLP for the audit log.
        EXPECT_TRUE(d.reason.starts_with(std::string(ReadPathName(kPaths[p])) +
                                         (want ? " allow " : " deny ")))
            << d.reason;
        EXPECT_NE(d.reason.find(row.name), std::string::npos) << d.reason;
        EXPECT_NE(d.reason.find(reader.org_id), std::string::npos) << d.reason;
        EXPECT_NE(d.reason.find(TlpName(row.tlp)), std::string::npos) << d.reason;
      }
    }
  }
  const size_t expected_cells = Rows().size() * Readers().size() * kPaths.size();
  std::cout << "[ matrix   ] " << Rows().size() << " markings x " << Readers().size()
            << " organisations x " << kPaths.size() << " read paths = " << cells << " cells, "
            << allowed << " allowed, " << (cells - allowed) << " denied, " << mismatches
            << " mismatches\n";
  EXPECT_EQ(cells, expected_cells);
  EXPECT_EQ(cells, 22u * 5u * 4u);
  EXPECT_EQ(mismatches, 0u);
}

TEST(TlpPolicyTest, OrgTypeGrantsNothing) {
  SharedObject o{"x", "trust-a", {kAmber2}, {}, {}, {}};
  for (OrgType t :
       {OrgType::kNationalCentre, OrgType::kTrust, OrgType::kGpPractice, OrgType::kSupplier}) {
    EXPECT_FALSE(Decide({"other", t, true}, o, ReadPath::kRest).allowed) << OrgTypeName(t);
    EXPECT_TRUE(Decide({"trust-a", t, true}, o, ReadPath::kRest).allowed) << OrgTypeName(t);
  }
}

TEST(TlpPolicyTest, NonMembersSeeClearOnly) {
  Reader outsider{"public", OrgType::kSupplier, false};
  for (ReadPath p : kPaths) {
    EXPECT_TRUE(Decide(outsider, {"c", "trust-a", {kClear2}, {}, {}, {}}, p).allowed);
    EXPECT_FALSE(Decide(outsider, {"g", "trust-a", {kGreen2}, {}, {}, {}}, p).allowed);
    // Even when named in the share list or as a recipient.
    EXPECT_FALSE(Decide(outsider, {"a", "trust-a", {kAmber2}, {}, {"public"}, {}}, p).allowed);
    EXPECT_FALSE(Decide(outsider, {"r", "trust-a", {kRed2}, {}, {}, {"public"}}, p).allowed);
  }
}

TEST(TlpPolicyTest, EmptyReaderOrgFailsClosed) {
  Reader nobody{"", OrgType::kTrust, true};
  // An object with an empty producer must not match an empty reader.
  SharedObject o{"x", "", {kStrict2}, {}, {""}, {""}};
  EXPECT_FALSE(Decide(nobody, o, ReadPath::kRest).allowed);
  o.markings = {kGreen2};
  EXPECT_FALSE(Decide(nobody, o, ReadPath::kRest).allowed);
}

TEST(TlpPolicyTest, ReasonRecordsUnknownMarkings) {
  SharedObject o{"ind-1", "trust-a", {kUnknown, kGreen2}, {}, {}, {}};
  Decision d = Decide({"gp-1", OrgType::kGpPractice, true}, o, ReadPath::kTaxii);
  EXPECT_TRUE(d.allowed);
  EXPECT_NE(d.reason.find(kUnknown), std::string::npos) << d.reason;
  o.markings = {};
  d = Decide({"gp-1", OrgType::kGpPractice, true}, o, ReadPath::kExport);
  EXPECT_FALSE(d.allowed);
  EXPECT_NE(d.reason.find("unmarked"), std::string::npos) << d.reason;
}

TEST(AnonymisedSightingTest, TakesTheStrictestAndRefusesBeyondAmber) {
  EXPECT_EQ(AnonymisedSightingTlp({}, Tlp::kClear), Tlp::kClear);
  const std::array<Tlp, 2> green_amber = {Tlp::kGreen, Tlp::kAmber};
  EXPECT_EQ(AnonymisedSightingTlp(green_amber, Tlp::kGreen), Tlp::kAmber);
  const std::array<Tlp, 1> clear = {Tlp::kClear};
  EXPECT_EQ(AnonymisedSightingTlp(clear, Tlp::kGreen), Tlp::kGreen);
  const std::array<Tlp, 2> with_red = {Tlp::kGreen, Tlp::kRed};
  EXPECT_FALSE(AnonymisedSightingTlp(with_red, Tlp::kClear));
  EXPECT_FALSE(AnonymisedSightingTlp({}, Tlp::kAmberStrict));
}

}  // namespace
}  // namespace aegis::auth
