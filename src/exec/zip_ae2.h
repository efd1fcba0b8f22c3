// WinZip AE-2 for libzip's AES members.
//
// libzip (1.7) marks AES members as AE-2 but still writes the plaintext's
// CRC-32 into the local and central headers. A CRC of the plaintext is a
// cheap oracle on it (a short field can be brute-forced against it), and
// AE-2 exists precisely to store 0 there and rely on the HMAC instead.
// ZeroAesCrcs patches a finished archive in place, before it is published.
#pragma once

#include <string>

#include "lethe/status.h"

namespace lethe::exec {

// Sets the CRC-32 of every AES-encrypted member (compression method 99) to 0
// in both its central-directory entry and its local header; handles ZIP64.
// REQUIRES: `path` is a complete archive no one else is writing.
// Returns Io if the file cannot be read or written, Internal if the archive
// is not what libzip writes (e.g. an AES member with a data descriptor), in
// which case the caller must not publish it.
Status ZeroAesCrcs(const std::string& path);

}  // namespace lethe::exec
