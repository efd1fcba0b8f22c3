// Parsing of object collections (`objects` entries of filesystem and s3
// connectors): one definition, so both types accept exactly the same keys.
#include <set>

#include "lethe/json_pointer.h"
#include "lethe/connector.h"
#include "lethe/connector_config.h"
#include "lethe/time.h"

namespace lethe {
namespace {

// A prefix template: at least one placeholder, not last (so "{x}" cannot also
// match "{x}0..."), and literal parts that already form a safe key prefix.
Status CheckPrefixTemplate(const std::string& t, const std::string& pointer, const ObjectKeyCheck& check) {
  size_t open = t.find('{');
  if (open == std::string::npos || t.find('}', open) == std::string::npos) {
    return Status::Invalid(
        "prefix must contain a placeholder such as \"{app.users.id}/\"; a fixed prefix would "
        "match every subject",
        pointer);
  }
  if (t.back() == '}') {
    return Status::Invalid(
        "prefix must not end with a placeholder (\"{x}\" would also match \"{x}0...\"); "
        "end it with \"/\" or another delimiter",
        pointer);
  }
  // Check the template with each placeholder replaced by a harmless name.
  std::string probe;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '{') {
      size_t close = t.find('}', i);
      if (close == std::string::npos) return Status::Invalid("unclosed placeholder", pointer);
      probe += "x";
      i = close;
    } else {
      probe += t[i];
    }
  }
  Status st = check(probe, "prefix");
  if (!st.ok()) return Status::Invalid(st.message(), pointer);
  return Status::Ok();
}

}  // namespace

namespace {

Result<CollectionSpec> ParseObjectCollection(const nlohmann::json& j, const std::string& connector,
                                             const std::string& pointer, size_t index, const ObjectKeyCheck& check) {
  if (!j.is_object()) return Status::Invalid("must be an object", pointer);
  CollectionSpec c;
  c.connector = connector;
  c.pointer = pointer;
  c.objects = true;
  c.name = index == 0 ? "objects" : "objects_" + std::to_string(index);
  bool has_prefix = false;
  for (const auto& [k, v] : j.items()) {
    std::string p = pointer + "/" + PointerToken(k);
    if (k == "name") {
      if (!v.is_string() || !IsPlainName(v.get<std::string>())) {
        return Status::Invalid("must be a plain name ([A-Za-z0-9_-]+)", p);
      }
      c.name = v.get<std::string>();
    } else if (k == "prefix") {
      if (!v.is_string()) return Status::Invalid("must be a string", p);
      LETHE_RETURN_IF_ERROR(CheckPrefixTemplate(v.get<std::string>(), p, check));
      c.links.push_back({"prefix", v.get<std::string>(), p});
      has_prefix = true;
    } else if (Status st; ParseDescriptiveKey(k, v, p, &c, &st)) {
      LETHE_RETURN_IF_ERROR(st);
    } else if (k == "erase") {
      LETHE_RETURN_IF_ERROR(ParseDeleteOrKeep(v, p, "objects", &c.erase));
    } else if (k == "retain") {
      Retention r;
      // Objects carry "key", "size" and "modified"; only the last is a date.
      LETHE_RETURN_IF_ERROR(ParseRetention(
          v, p,
          [](const std::string& from, const std::string& fp) {
            return from == "modified" ? Status::Ok()
                                      : Status::Invalid("objects can only be retained from \"modified\"", fp);
          },
          &r));
      c.retain = std::move(r);
    } else {
      return Status::Invalid("unknown key \"" + k + "\"", p);
    }
  }
  if (!has_prefix) return Status::Invalid("objects need a \"prefix\"", pointer);
  if (c.retain) c.erase.kind = EraseAction::Kind::kKeep;  // retained objects are kept, whatever "erase" says
  return c;
}

}  // namespace

Result<std::vector<CollectionSpec>> ParseObjectCollections(const nlohmann::json& objects, const std::string& connector,
                                                           const std::string& pointer, const ObjectKeyCheck& check) {
  if (!objects.is_array() || objects.empty()) return Status::Invalid("must be a non-empty array", pointer);
  std::vector<CollectionSpec> specs;
  std::set<std::string> names;
  for (size_t i = 0; i < objects.size(); ++i) {
    std::string p = pointer + "/" + std::to_string(i);
    LETHE_ASSIGN_OR_RETURN(auto spec, ParseObjectCollection(objects[i], connector, p, i, check));
    if (!names.insert(spec.name).second) return Status::Invalid("duplicate collection name \"" + spec.name + "\"", p);
    specs.push_back(std::move(spec));
  }
  return specs;
}

}  // namespace lethe
