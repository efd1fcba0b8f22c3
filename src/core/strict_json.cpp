#include "lethe/json_pointer.h"
#include "lethe/strict_json.h"

#include <string>
#include <utility>
#include <vector>

namespace lethe {
namespace {

using json = nlohmann::json;

// Builds the value from nlohmann's SAX events, like its own DOM builder, but
// checks each event first and stops the parse (returns false) at the first
// violation. Only the innermost open container is ever written to, so the
// pointers on the stack stay valid.
class StrictBuilder {
 public:
  explicit StrictBuilder(json* root) : root_(root) {}

  bool null() { return Put(json(nullptr)); }
  bool boolean(bool v) { return Put(json(v)); }
  bool number_integer(json::number_integer_t v) {
    if (v > kMaxJsonInteger || v < -kMaxJsonInteger) return OutOfRange();
    return Put(json(v));
  }
  bool number_unsigned(json::number_unsigned_t v) {
    if (v > static_cast<json::number_unsigned_t>(kMaxJsonInteger)) return OutOfRange();
    return Put(json(v));
  }
  bool number_float(json::number_float_t v, const json::string_t& literal) {
    // nlohmann reads an integer literal too big for 64 bits as a double;
    // the literal tells it apart from a real fraction or exponent.
    if (literal.find_first_of(".eE") == std::string::npos) return OutOfRange();
    return Put(json(v));
  }
  bool string(json::string_t& v) { return Put(json(std::move(v))); }
  bool binary(json::binary_t&) { return Fail("binary values are not JSON", Pointer()); }

  bool start_object(std::size_t) { return Open(json::object()); }
  bool start_array(std::size_t) { return Open(json::array()); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }

  bool key(json::string_t& k) {
    Frame& f = frames_.back();
    f.key = std::move(k);
    if (f.value->contains(f.key)) return Fail("duplicate object key", Pointer());
    return true;
  }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 9: ..."
    std::string what = e.what();
    if (size_t p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    return Fail("malformed JSON at byte " + std::to_string(position) + ": " + what, Pointer());
  }

  Status status() const { return status_; }

 private:
  struct Frame {
    json* value;      // the open object or array
    std::string key;  // objects: the key whose value comes next
  };

  // The place the next value goes: each open container's pending key or
  // index (an enclosing array's open child is its last element; the
  // innermost array's next value is not in it yet).
  std::string Pointer() const {
    std::string p;
    for (size_t i = 0; i < frames_.size(); ++i) {
      const Frame& f = frames_[i];
      p += '/';
      if (f.value->is_array()) {
        const size_t open_child = i + 1 < frames_.size() ? 1 : 0;
        p += std::to_string(f.value->size() - open_child);
      } else {
        p += PointerToken(f.key);
      }
    }
    return p;
  }

  bool Fail(std::string message, std::string pointer) {
    if (status_.ok()) status_ = Status::Invalid(std::move(message), std::move(pointer));
    return false;
  }

  bool OutOfRange() { return Fail("integer beyond ±2^53 (9007199254740992); send it as a string", Pointer()); }

  // Places v in the innermost container (or as the root) and returns where it landed.
  json* Place(json&& v) {
    if (frames_.empty()) {
      *root_ = std::move(v);
      return root_;
    }
    json* c = frames_.back().value;
    if (c->is_array()) {
      c->push_back(std::move(v));
      return &c->back();
    }
    json& slot = (*c)[frames_.back().key];
    slot = std::move(v);
    return &slot;
  }

  bool Put(json&& v) {
    Place(std::move(v));
    return true;
  }

  bool Open(json&& container) {
    if (frames_.size() >= static_cast<size_t>(kMaxJsonDepth))
      return Fail("nested deeper than " + std::to_string(kMaxJsonDepth) + " levels", Pointer());
    json* placed = Place(std::move(container));
    frames_.push_back(Frame{placed, {}});
    return true;
  }

  bool Close() {
    frames_.pop_back();
    return true;
  }

  json* root_;
  std::vector<Frame> frames_;
  Status status_;
};

}  // namespace

Result<nlohmann::json> ParseStrictJson(std::string_view text) {
  json root;
  StrictBuilder builder(&root);
  bool ok = false;
  try {
    ok = json::sax_parse(text.begin(), text.end(), &builder, json::input_format_t::json, /*strict=*/true);
  } catch (const std::exception& e) {
    // sax_parse reports syntax errors through parse_error(); anything thrown
    // is an allocation failure or the like.
    return Status::Invalid(std::string("cannot parse JSON: ") + e.what());
  }
  if (!ok) {
    Status st = builder.status();
    return st.ok() ? Status::Invalid("malformed JSON") : st;
  }
  return root;
}

}  // namespace lethe
