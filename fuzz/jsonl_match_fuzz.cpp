// The jsonl connector's line matcher and line eraser
// (connectors/jsonl/jsonl_lines.h).
//
// Input lines: the subject's terms ("field=value,field=value"), the erase
// action ("drop" or "redact=field,field"), then log lines.
//
// Properties:
// - the cheap pre-check never hides a match: a line whose top-level string
//   or integer field equals a term is found (floats are compared as dumped
//   text and may be missed, as documented);
// - Find and Erase agree: a line erasure changes is a line Find returns;
// - an unchanged line is returned byte for byte, a dropped one only if it
//   matched; a redacted line is one JSON object on one line with every
//   listed field "[redacted]" and every other field as before, and erasing
//   again changes nothing.
#include <string>

#include "fuzz_check.h"
#include "jsonl/jsonl_lines.h"

namespace {

using nlohmann::json;
using namespace lethe::jsonl;

lethe::Match ParseTerms(const std::string& spec) {
  lethe::Match m;
  for (const std::string& item : lethe::fuzz::Split(spec, ',')) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) continue;
    m.push_back({item.substr(0, eq), {item.substr(eq + 1)}});
  }
  return m;
}

lethe::EraseAction ParseAction(const std::string& spec) {
  lethe::EraseAction a;
  a.kind = lethe::EraseAction::Kind::kDrop;
  if (spec.rfind("redact=", 0) == 0) {
    a.kind = lethe::EraseAction::Kind::kRedact;
    for (const std::string& f : lethe::fuzz::Split(spec.substr(7), ','))
      if (!f.empty()) a.redact.push_back(f);
  }
  return a;
}

// The documented meaning of a match, for strings and integers.
bool ExactMatch(const json& obj, const lethe::Match& m) {
  for (const lethe::MatchTerm& t : m) {
    auto it = obj.find(t.column);
    if (it == obj.end()) continue;
    std::string text;
    if (it->is_string())
      text = it->get<std::string>();
    else if (it->is_number_unsigned())
      text = std::to_string(it->get<uint64_t>());
    else if (it->is_number_integer())
      text = std::to_string(it->get<int64_t>());
    else
      continue;
    for (const auto& v : t.values)
      if (v == text) return true;
  }
  return false;
}

void CheckLine(const std::string& line, const lethe::Match& m, const Terms& terms, const lethe::EraseAction& a) {
  bool malformed = false;
  std::optional<json> found = MatchLine(line, terms, &malformed);
  json parsed = json::parse(line, nullptr, false);
  const bool is_object = !parsed.is_discarded() && parsed.is_object();
  if (found) FUZZ_CHECK(is_object && *found == parsed, "a found line is the line's object");
  if (malformed) FUZZ_CHECK(!is_object, "only non-objects are malformed");
  if (is_object && ExactMatch(parsed, m)) FUZZ_CHECK(found.has_value(), "the pre-check never hides a match");

  bool changed = false;
  std::optional<std::string> out = EraseInLine(line, terms, a, &changed);
  if (changed) FUZZ_CHECK(found.has_value(), "erasure changes only lines Find returns");
  if (!changed) {
    FUZZ_CHECK(out && *out == line, "an unchanged line is kept byte for byte");
    return;
  }
  if (!out) {
    FUZZ_CHECK(a.kind != lethe::EraseAction::Kind::kRedact, "redaction never drops a line");
    return;
  }
  FUZZ_CHECK(out->find('\n') == std::string::npos, "a redacted line stays one line");
  json after = json::parse(*out, nullptr, false);
  FUZZ_CHECK(!after.is_discarded() && after.is_object(), "a redacted line is a JSON object");
  for (const auto& [k, v] : parsed.items()) {
    FUZZ_CHECK(after.contains(k), "redaction keeps every field");
    bool listed = std::find(a.redact.begin(), a.redact.end(), k) != a.redact.end();
    if (listed)
      FUZZ_CHECK(after[k] == kRedacted, "a listed field is redacted");
    else
      FUZZ_CHECK(after[k] == v, "an unlisted field is unchanged");
  }
  FUZZ_CHECK(after.size() == parsed.size(), "redaction adds no field");
  bool again = false;
  std::optional<std::string> twice = EraseInLine(*out, terms, a, &again);
  FUZZ_CHECK(!again && twice && *twice == *out, "erasing again changes nothing");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> lines = lethe::fuzz::Split(in, '\n', 34);
  if (lines.size() < 3) return 0;
  const lethe::Match m = ParseTerms(lines[0]);
  const Terms terms = MakeTerms(m);
  const lethe::EraseAction a = ParseAction(lines[1]);
  for (size_t i = 2; i < lines.size(); ++i) CheckLine(lines[i], m, terms, a);
  return 0;
}
