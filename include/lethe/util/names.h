// The names Lethe lets from configuration into SQL text, URLs, object keys
// and file names. One definition per rule, so a connector, the executor and
// the schema cannot drift apart on what "a plain name" means.
//
// All rules are ASCII-only on purpose: std::isalnum depends on the locale and
// would let letters of other scripts into SQL text and paths.
#pragma once

#include <cstddef>
#include <string_view>

namespace lethe::util {

// [A-Za-z0-9_-]{1,max}: collection, connector, field and metadata names that
// end up in file names, zip paths and URL path segments.
bool IsPlainName(std::string_view s, size_t max = 128);

// [A-Za-z_][A-Za-z0-9_]{0,127}: SQL table and column names (quoted on top of
// this, see QuoteIdentifier in lethe/connector.h).
bool IsSqlIdentifier(std::string_view s);

// A plain name that may also hold dots but never "..": names some services
// allow (Chroma collections, S3 buckets), never usable as a path step upward.
bool IsDottedName(std::string_view s, size_t max = 128);

}  // namespace lethe::util
