// JSON Pointer (RFC 6901): the one way Lethe names a place in a JSON
// document in its errors ("/connectors/0/collections/2/mask/a~1b").
#pragma once

#include <string>
#include <string_view>

namespace lethe {

// One reference token: "~" becomes "~0" and "/" becomes "~1".
std::string PointerToken(std::string_view key);

}  // namespace lethe
