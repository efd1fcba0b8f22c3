// The config loader (ParseConfig, src/core/config.cpp) and the JSON Schema
// validator under it (src/core/schema.cpp), fed documents as LoadConfig
// reads them (strict JSON).
//
// Properties: nothing throws; a refusal is kInvalid (never kInternal: a
// user's file cannot be our bug), names the file and a JSON pointer; an
// accepted config is schema-valid, its deadline rules build an engine, its
// durations are usable and its worker lease is at least a second.
#include <string_view>

#include "fuzz_check.h"
#include "lethe/config.h"
#include "lethe/strict_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  lethe::Result<nlohmann::json> doc = lethe::ParseStrictJson(text);
  if (!doc.ok()) return 0;

  lethe::Status schema = lethe::ValidateSchema(*doc, lethe::ConfigSchema());
  FUZZ_CHECK(schema.ok() || schema.code() == lethe::Code::kInvalid, "schema refusals are kInvalid");
  if (!schema.ok()) FUZZ_CHECK(lethe::fuzz::IsJsonPointer(schema.field()), "schema refusals name a pointer");

  lethe::Result<lethe::Config> c = [&]() -> lethe::Result<lethe::Config> {
    try {
      return lethe::ParseConfig(*doc, "fuzz.json", "/nonexistent/fuzz");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ParseConfig threw: %s\n", e.what());
      FUZZ_CHECK(false, "ParseConfig never throws");
      return lethe::Status::Internal("unreachable");
    }
  }();
  if (!c.ok()) {
    const lethe::Status& st = c.status();
    FUZZ_CHECK(st.code() == lethe::Code::kInvalid, "config refusals are kInvalid");
    FUZZ_CHECK(st.message().rfind("fuzz.json: ", 0) == 0, "config refusals name the file");
    FUZZ_CHECK(lethe::fuzz::IsJsonPointer(st.field()), "config refusals name a pointer");
    if (schema.ok()) FUZZ_CHECK(!st.field().empty(), "a refusal past the schema names the field");
    return 0;
  }
  FUZZ_CHECK(schema.ok(), "an accepted config is schema-valid");
  FUZZ_CHECK(lethe::DeadlineEngine::Create(c->deadlines).ok(), "an accepted config's deadline rules build");
  FUZZ_CHECK(c->worker_lease >= std::chrono::seconds(1), "the lease is at least a second");
  // Durations are used as calendar steps (retention, TTLs): they must be usable.
  const lethe::Time t0 = lethe::FromUnix(1767225600);  // 2026-01-01
  for (const lethe::Duration* d : {&c->erasure_grace, &c->link_ttl, &c->exports_keep}) {
    FUZZ_CHECK(d->years >= 0 && d->months >= 0 && d->days >= 0 && d->seconds >= 0, "durations are not negative");
    FUZZ_CHECK(lethe::AddCalendar(t0, *d) >= t0, "a duration never moves time back");
  }
  return 0;
}
