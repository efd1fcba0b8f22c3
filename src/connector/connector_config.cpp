// ConnectorConfigReader: the config preamble every connector factory shares.
#include "lethe/connector_config.h"

#include <filesystem>

#include "lethe/json_pointer.h"

namespace lethe {

ConnectorConfigReader::ConnectorConfigReader(const nlohmann::json& config, std::string pointer,
                                             const ConnectorContext& ctx, std::string type)
    : config_(config), pointer_(std::move(pointer)), ctx_(ctx), type_(std::move(type)) {
  if (!config_.is_object()) {
    status_ = Status::Invalid("a connector must be an object", pointer_);
    return;
  }
  known_.insert("type");
  auto it = config_.find("type");
  if (it != config_.end() && *it != type_) Fail("type", "must be \"" + type_ + "\"");
}

std::string ConnectorConfigReader::Pointer(const std::string& key) const { return pointer_ + "/" + PointerToken(key); }

void ConnectorConfigReader::Fail(const std::string& key, const std::string& message) {
  if (status_.ok()) status_ = Status::Invalid(message, key.empty() ? pointer_ : Pointer(key));
}

const nlohmann::json* ConnectorConfigReader::Find(const std::string& key, Presence presence) {
  known_.insert(key);
  if (!status_.ok()) return nullptr;
  auto it = config_.find(key);
  if (it != config_.end()) return &*it;
  if (presence == kRequired) Fail("", type_ + " connector needs \"" + key + "\"");
  return nullptr;
}

std::string ConnectorConfigReader::Name() {
  const nlohmann::json* v = Find("name", kRequired);
  if (v == nullptr) return "";
  if (!v->is_string() || !IsPlainName(v->get<std::string>())) {
    Fail("name", "must be a plain name ([A-Za-z0-9_-]+)");
    return "";
  }
  return v->get<std::string>();
}

std::string ConnectorConfigReader::String(const std::string& key, Presence presence, const std::string& what) {
  const nlohmann::json* v = Find(key, presence);
  if (v == nullptr) return "";
  if (!v->is_string() || v->get<std::string>().empty()) {
    Fail(key, "must be " + what);
    return "";
  }
  if (v->get<std::string>().find('\0') != std::string::npos) {
    Fail(key, "contains a NUL byte");
    return "";
  }
  return v->get<std::string>();
}

std::string ConnectorConfigReader::Resolve(const std::string& path) const {
  std::filesystem::path p(path);
  return p.is_absolute() || ctx_.base_dir.empty() ? path : (std::filesystem::path(ctx_.base_dir) / p).string();
}

std::string ConnectorConfigReader::Path(const std::string& key, Presence presence) {
  std::string s = String(key, presence, "a file path");
  return s.empty() ? s : Resolve(s);
}

std::vector<std::string> ConnectorConfigReader::Paths(const std::string& key) {
  std::vector<std::string> out;
  const nlohmann::json* v = Find(key, kOptional);
  if (v == nullptr) return out;
  if (!v->is_array()) {
    Fail(key, "must be an array of paths");
    return out;
  }
  for (size_t i = 0; i < v->size(); ++i) {
    const nlohmann::json& e = (*v)[i];
    if (!e.is_string() || e.get<std::string>().empty() || e.get<std::string>().find('\0') != std::string::npos) {
      if (status_.ok()) status_ = Status::Invalid("must be a path", Pointer(key) + "/" + std::to_string(i));
      return {};
    }
    out.push_back(Resolve(e.get<std::string>()));
  }
  return out;
}

std::string ConnectorConfigReader::Env(const std::string& key, Presence presence) {
  const nlohmann::json* v = Find(key, presence);
  if (v == nullptr) return "";
  if (!v->is_string() || v->get<std::string>().empty()) {
    Fail(key, "must name an environment variable");
    return "";
  }
  std::string var = v->get<std::string>();
  std::optional<std::string> value = ctx_.env ? ctx_.env(var) : std::nullopt;
  if (!value || value->empty()) {
    Fail(key, "environment variable " + var + " is not set");
    return "";
  }
  return *value;
}

std::optional<std::string> ConnectorConfigReader::StringOrEnv(const std::string& key, Presence presence,
                                                              const std::string& what) {
  std::string env_key = key + "_env";
  bool in_clear = config_.is_object() && config_.contains(key);
  bool in_env = config_.is_object() && config_.contains(env_key);
  if (in_clear && in_env) {
    known_.insert(key);
    known_.insert(env_key);
    Fail(env_key, "give \"" + key + "\" or \"" + env_key + "\", not both");
    return std::nullopt;
  }
  if (in_clear) return String(key, kRequired, what);
  if (in_env) return Env(env_key, kRequired);
  known_.insert(key);
  known_.insert(env_key);
  if (presence == kRequired) Fail("", type_ + " connector needs \"" + key + "\" or \"" + env_key + "\"");
  return std::nullopt;
}

bool ConnectorConfigReader::Bool(const std::string& key, bool fallback) {
  const nlohmann::json* v = Find(key, kOptional);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) {
    Fail(key, "must be true or false");
    return fallback;
  }
  return v->get<bool>();
}

const nlohmann::json* ConnectorConfigReader::NonEmptyArray(const std::string& key, Presence presence) {
  const nlohmann::json* v = Find(key, presence);
  if (v != nullptr && (!v->is_array() || v->empty())) {
    Fail(key, "must be a non-empty array");
    return nullptr;
  }
  return v;
}

const nlohmann::json* ConnectorConfigReader::Raw(const std::string& key, Presence presence) {
  return Find(key, presence);
}

Status ConnectorConfigReader::Finish() {
  if (!status_.ok()) return status_;
  for (const auto& [k, v] : config_.items()) {
    if (!known_.count(k)) return Status::Invalid("unknown key \"" + k + "\"", Pointer(k));
  }
  return Status::Ok();
}

Status ParseStringList(const nlohmann::json& v, const std::string& pointer, std::vector<std::string>* out,
                       bool non_empty) {
  if (!v.is_array()) return Status::Invalid("must be an array of strings", pointer);
  if (non_empty && v.empty()) return Status::Invalid("must not be empty", pointer);
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) return Status::Invalid("must be a string", pointer + "/" + std::to_string(i));
    if (non_empty && v[i].get<std::string>().empty())
      return Status::Invalid("must be a non-empty string", pointer + "/" + std::to_string(i));
    out->push_back(v[i].get<std::string>());
  }
  return Status::Ok();
}

bool ParseDescriptiveKey(const std::string& key, const nlohmann::json& v, const std::string& pointer, CollectionSpec* c,
                         Status* st) {
  if (key == "categories") {
    *st = ParseStringList(v, pointer, &c->categories);
  } else if (key == "purpose") {
    *st = v.is_string() ? Status::Ok() : Status::Invalid("must be a string", pointer);
    if (st->ok()) c->purpose = v.get<std::string>();
  } else if (key == "portable") {
    *st = v.is_boolean() ? Status::Ok() : Status::Invalid("must be true or false", pointer);
    if (st->ok()) c->portable = v.get<bool>();
  } else {
    return false;
  }
  return true;
}

Status ParseDeleteOrKeep(const nlohmann::json& v, const std::string& pointer, const std::string& what,
                         EraseAction* erase) {
  if (v == "delete") {
    erase->kind = EraseAction::Kind::kDelete;
  } else if (v == "keep") {
    erase->kind = EraseAction::Kind::kKeep;
  } else {
    return Status::Invalid("must be \"delete\" or \"keep\" (" + what + " cannot be masked)", pointer);
  }
  return Status::Ok();
}

}  // namespace lethe
