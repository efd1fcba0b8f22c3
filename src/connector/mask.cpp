#include "lethe/mask.h"

#include "lethe/hex.h"

namespace lethe {

std::string MaskHash(std::string_view key, std::string_view value) {
  return std::string(kMaskHashPrefix) + HmacSha256Hex(key, value);
}

}  // namespace lethe
