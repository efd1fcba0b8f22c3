#include "exec/util.h"

namespace lethe::exec {

std::string MaskHash(std::string_view key, std::string_view value) {
  return std::string(kMaskHashPrefix) + HmacSha256Hex(key, value);
}

std::string PointerToken(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

}  // namespace lethe::exec
