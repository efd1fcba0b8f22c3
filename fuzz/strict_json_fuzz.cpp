// ParseStrictJson (include/lethe/strict_json.h): every body, JWT part and
// config file goes through it.
//
// Properties: never throws; an error is kInvalid with a message and a JSON
// pointer; whatever it accepts, nlohmann's own parser accepts with the same
// value, is no deeper than kMaxJsonDepth, holds no integer beyond ±2^53, and
// survives dump -> parse unchanged (what Lethe stores, it reads back).
#include <string_view>

#include "fuzz_check.h"
#include "lethe/strict_json.h"

namespace {

using nlohmann::json;

int Depth(const json& j) {
  if (!j.is_structured()) return 0;
  int deepest = 0;
  for (const auto& child : j) deepest = std::max(deepest, Depth(child));
  return deepest + 1;
}

bool IntegersInRange(const json& j) {
  if (j.is_number_unsigned()) return j.get<uint64_t>() <= static_cast<uint64_t>(lethe::kMaxJsonInteger);
  if (j.is_number_integer()) {
    int64_t v = j.get<int64_t>();
    return v <= lethe::kMaxJsonInteger && v >= -lethe::kMaxJsonInteger;
  }
  if (j.is_structured())
    for (const auto& child : j)
      if (!IntegersInRange(child)) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  lethe::Result<json> r = lethe::ParseStrictJson(text);
  if (!r.ok()) {
    FUZZ_CHECK(r.status().code() == lethe::Code::kInvalid, "a refusal is kInvalid");
    FUZZ_CHECK(!r.status().message().empty(), "a refusal says why");
    FUZZ_CHECK(lethe::fuzz::IsJsonPointer(r.status().field()), "a refusal names a JSON pointer");
    return 0;
  }
  const json& doc = *r;
  FUZZ_CHECK(Depth(doc) <= lethe::kMaxJsonDepth, "no deeper than kMaxJsonDepth");
  FUZZ_CHECK(IntegersInRange(doc), "no integer beyond 2^53");

  // What the strict parser accepts, the lenient one reads the same way.
  json lenient = json::parse(text, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(!lenient.is_discarded(), "strict accepts only what nlohmann accepts");
  FUZZ_CHECK(lenient == doc, "strict and lenient agree on the value");

  // Round trip: what Lethe writes back (dump), it reads back unchanged.
  std::string out = doc.dump();
  lethe::Result<json> again = lethe::ParseStrictJson(out);
  FUZZ_CHECK(again.ok(), "a dumped document parses again");
  FUZZ_CHECK(*again == doc, "dump -> parse gives the same value");
  FUZZ_CHECK(again->dump() == out, "dump is stable");
  return 0;
}
