// How the jsonl connector judges one line: whether it belongs to the subject
// and what erasure makes of it. Pure functions of the line (no files), kept
// apart from jsonl.cpp so fuzz/jsonl_match_fuzz.cpp can drive them directly.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "lethe/connector.h"

namespace lethe::jsonl {

inline constexpr char kRedacted[] = "[redacted]";

// The subject's values, per field.
struct Terms {
  std::map<std::string, std::unordered_set<std::string>> by_field;
  std::vector<std::string> all;  // every value, for the cheap pre-check
  bool empty() const { return by_field.empty(); }
};

Terms MakeTerms(const Match& m);

// Only spaces, tabs and a CR: skipped, never counted as malformed.
bool IsBlank(const std::string& line);

// Cheap test before parsing; false only if the line cannot match.
bool MayMatch(const std::string& line, const Terms& terms);

// The line as a JSON object when it belongs to the subject, else nullopt.
// *malformed is set for a line that had to be parsed and is no JSON object.
std::optional<nlohmann::json> MatchLine(const std::string& line, const Terms& terms, bool* malformed);

// What erasure makes of one line: nullopt to drop it, else the new text.
// Sets *changed when the line differs from before.
std::optional<std::string> EraseInLine(const std::string& line, const Terms& terms, const EraseAction& a,
                                       bool* changed);

}  // namespace lethe::jsonl
