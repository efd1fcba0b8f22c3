#include "lethe/util/names.h"

namespace lethe::util {
namespace {

bool Letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool Digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool IsPlainName(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    if (!Letter(c) && !Digit(c) && c != '_' && c != '-') return false;
  }
  return true;
}

bool IsSqlIdentifier(std::string_view s) {
  if (s.empty() || s.size() > 128 || Digit(s[0])) return false;
  for (char c : s) {
    if (!Letter(c) && !Digit(c) && c != '_') return false;
  }
  return true;
}

bool IsDottedName(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max || s.find("..") != std::string_view::npos) return false;
  for (char c : s) {
    if (!Letter(c) && !Digit(c) && c != '_' && c != '-' && c != '.') return false;
  }
  return true;
}

}  // namespace lethe::util
