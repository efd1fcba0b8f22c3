#include "jsonl_lines.h"

namespace lethe::jsonl {
namespace {

// Field value as the text it is compared by; nullopt for values that never match.
std::optional<std::string> ValueText(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  // is_number_integer() is also true for unsigned values: test unsigned first.
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number_float()) return v.dump();
  return std::nullopt;
}

template <class Json>
bool Matches(const Json& obj, const Terms& terms) {
  for (const auto& [field, values] : terms.by_field) {
    auto it = obj.find(field);
    if (it == obj.end()) continue;
    auto text = ValueText(*it);
    if (text && values.count(*text)) return true;
  }
  return false;
}

}  // namespace

Terms MakeTerms(const Match& m) {
  Terms t;
  for (const MatchTerm& term : m) {
    if (term.values.empty()) continue;
    auto& set = t.by_field[term.column];
    for (const auto& v : term.values) {
      if (set.insert(v).second) t.all.push_back(v);
    }
  }
  return t;
}

bool IsBlank(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; }

// A line without escapes holds every string and integer value literally, so
// if no value occurs in it, it cannot match. Lines with a backslash may spell
// a value with escapes and are always parsed.
bool MayMatch(const std::string& line, const Terms& terms) {
  if (line.find('\\') != std::string::npos) return true;
  for (const auto& v : terms.all) {
    if (line.find(v) != std::string::npos) return true;
  }
  return false;
}

std::optional<nlohmann::json> MatchLine(const std::string& line, const Terms& terms, bool* malformed) {
  *malformed = false;
  if (IsBlank(line) || !MayMatch(line, terms)) return std::nullopt;
  nlohmann::json obj = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (obj.is_discarded() || !obj.is_object()) {
    *malformed = true;
    return std::nullopt;
  }
  if (!Matches(obj, terms)) return std::nullopt;
  return obj;
}

std::optional<std::string> EraseInLine(const std::string& line, const Terms& terms, const EraseAction& a,
                                       bool* changed) {
  *changed = false;
  if (IsBlank(line) || !MayMatch(line, terms)) return line;
  // ordered_json keeps the field order of the line when it is rewritten.
  nlohmann::ordered_json obj = nlohmann::ordered_json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (obj.is_discarded() || !obj.is_object() || !Matches(obj, terms)) return line;
  if (a.kind != EraseAction::Kind::kRedact) {  // drop (and "delete", which means the same here)
    *changed = true;
    return std::nullopt;
  }
  for (const std::string& field : a.redact) {
    auto it = obj.find(field);
    if (it == obj.end() || (it->is_string() && *it == kRedacted)) continue;
    *it = kRedacted;
    *changed = true;
  }
  if (!*changed) return line;
  std::string out = obj.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  if (!line.empty() && line.back() == '\r') out += '\r';
  return out;
}

}  // namespace lethe::jsonl
