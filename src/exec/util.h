// Names the executor's files use unqualified inside lethe::exec: digests
// (lethe/hex.h), masks (lethe/mask.h) and JSON pointer tokens. Internal to
// src/exec; connectors include the public headers themselves.
#pragma once

#include "lethe/hex.h"
#include "lethe/json_pointer.h"
#include "lethe/mask.h"

namespace lethe::exec {

using ::lethe::HmacSha256Hex;
using ::lethe::kMaskHashPrefix;
using ::lethe::kRedacted;
using ::lethe::MaskHash;
using ::lethe::PointerToken;
using ::lethe::Sha256Hex;

}  // namespace lethe::exec
