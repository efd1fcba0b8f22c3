// The request-body reader (src/http/json_input.*) and the subject validator
// (ValidateSubject, src/core/request.cpp), driven the way an intake handler
// drives them: Content-Type check, body -> object, known fields only, typed
// getters, then the identities.
//
// Input: the Content-Type value, a newline, then the body.
//
// Properties: nothing throws; every refusal is kInvalid with a message, and a
// validator's refusal names the field at fault (a JSON pointer under the
// body); ValidateSubject's message never depends on (so never repeats)
// the identity values.
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "http/json_input.h"
#include "lethe/request.h"

namespace {

using nlohmann::json;

void CheckRefusal(const lethe::Status& st, bool needs_field) {
  if (st.ok()) return;
  FUZZ_CHECK(st.code() == lethe::Code::kInvalid, "a refusal is kInvalid");
  FUZZ_CHECK(!st.message().empty(), "a refusal says why");
  FUZZ_CHECK(lethe::fuzz::IsJsonPointer(st.field()), "a refusal names a JSON pointer");
  if (needs_field) FUZZ_CHECK(!st.field().empty(), "a validator names the field");
}

// a->b ... z->a, A->B ..., 0->1 ... 9->0; everything else kept.
std::string Shift(std::string v) {
  for (char& c : v) {
    if (c >= 'a' && c <= 'z')
      c = c == 'z' ? 'a' : c + 1;
    else if (c >= 'A' && c <= 'Z')
      c = c == 'Z' ? 'A' : c + 1;
    else if (c >= '0' && c <= '9')
      c = c == '9' ? '0' : c + 1;
  }
  return v;
}

void CheckSubject(const json& body) {
  auto it = body.find("subject");
  if (it == body.end() || !it->is_object()) return;
  lethe::Subject s;
  for (const auto& [kind, value] : it->items()) {
    if (!value.is_string()) continue;
    s.Set(kind, value.get<std::string>());
  }
  lethe::Status st = lethe::ValidateSubject(s);
  CheckRefusal(st, true);
  if (st.ok()) return;
  FUZZ_CHECK(st.field().rfind("/subject", 0) == 0, "a subject refusal names /subject/...");
  // Errors reach events, mails and logs: never an identity value in them.
  // The same subject with every letter and digit shifted (structure, length
  // and validity unchanged) must get the very same message; one that
  // echoed a value would differ.
  lethe::Subject shifted;
  for (const std::string& kind : s.Kinds()) shifted.Set(kind, Shift(s.Get(kind)));
  lethe::Status again = lethe::ValidateSubject(shifted);
  FUZZ_CHECK(again.ToString() == st.ToString(), "no identity value in the message");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string_view content_type = nl == std::string_view::npos ? std::string_view() : in.substr(0, nl);
  std::string_view body = nl == std::string_view::npos ? in : in.substr(nl + 1);

  if (lethe::http::IsJsonMediaType(content_type)) {
    std::string lower;
    for (char c : content_type) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    FUZZ_CHECK(lower.find("application/json") != std::string::npos, "a JSON media type names application/json");
  }

  for (bool allow_empty : {false, true}) {
    lethe::Result<json> obj = lethe::http::ParseObject(body, allow_empty);
    CheckRefusal(obj.status(), false);
    if (!obj.ok()) continue;
    FUZZ_CHECK(obj->is_object(), "ParseObject gives an object");

    const json& b = *obj;
    CheckRefusal(lethe::http::OnlyFields(b, {"type", "subject", "regulation", "note", "not_before", "notify"}), true);
    std::string type;
    CheckRefusal(lethe::http::GetString(b, "type", &type, /*required=*/true), true);
    bool notify = false;
    CheckRefusal(lethe::http::GetBool(b, "notify", &notify), true);
    std::optional<lethe::Time> not_before;
    lethe::Status t = lethe::http::GetTime(b, "not_before", &not_before);
    CheckRefusal(t, true);
    if (t.ok() && not_before) {
      // An accepted instant can be shown back in the contract's form.
      lethe::Result<lethe::Time> back = lethe::ParseRfc3339(lethe::FormatRfc3339(*not_before));
      FUZZ_CHECK(back.ok() && *back == *not_before, "an accepted time formats and parses back");
    }
    if (auto s = b.find("subject"); s != b.end())
      CheckRefusal(lethe::http::OnlyFields(*s, {"email", "user_id", "phone"}, "/subject"), true);
    CheckSubject(b);
  }
  return 0;
}
