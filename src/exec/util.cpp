#include "lethe/json_pointer.h"
#include "exec/util.h"

namespace lethe::exec {

std::string MaskHash(std::string_view key, std::string_view value) {
  return std::string(kMaskHashPrefix) + HmacSha256Hex(key, value);
}


}  // namespace lethe::exec
