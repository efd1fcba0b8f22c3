#include "lethe/config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lethe/strict_json.h"

namespace lethe {
namespace {

using nlohmann::json;

Result<Duration> DurationAt(const json& obj, const char* key, const std::string& ptr, Duration fallback) {
  if (!obj.contains(key)) return fallback;
  auto d = ParseIsoDuration(obj[key].get<std::string>());
  if (!d.ok()) return Status::Invalid(d.status().message(), ptr + "/" + key);
  return *d;
}

}  // namespace

std::string Config::Resolve(const std::string& p) const {
  std::filesystem::path path(p);
  if (path.is_absolute() || base_dir.empty()) return p;
  return (std::filesystem::path(base_dir) / path).lexically_normal().string();
}

Result<std::string> Config::Secret(const std::string& env_name, const std::string& pointer) const {
  const char* v = std::getenv(env_name.c_str());
  if (!v || !*v) return Status::Invalid("environment variable " + env_name + " is not set", pointer);
  return std::string(v);
}

Result<std::string> Config::JwtSecret() const {
  constexpr size_t kMinBytes = 32;
  LETHE_ASSIGN_OR_RETURN(auto v, Secret(jwt_secret_env, "/self_service/jwt/hs256_secret_env"));
  // Name the variable, never its value.
  if (v.size() < kMinBytes)
    return Status::Invalid("environment variable " + jwt_secret_env + " holds " + std::to_string(v.size()) +
                               " bytes; an HS256 secret needs at least 32 (RFC 7518 section 3.2)",
                           "/self_service/jwt/hs256_secret_env");
  return v;
}

Result<Config> ParseConfig(const json& doc, const std::string& file, const std::string& base_dir) {
  Status st = ValidateSchema(doc, ConfigSchema());
  if (!st.ok()) return Status(st.code(), file.empty() ? st.ToString() : file + ": " + st.ToString(), st.field());
  auto fail = [&](const Status& s) -> Status {
    return Status(s.code(), file.empty() ? s.ToString() : file + ": " + s.ToString(), s.field());
  };

  Config c;
  c.path = file;
  c.base_dir = base_dir;
  c.raw = doc;
  c.listen = doc.value("listen", c.listen);
  c.public_url = doc.value("public_url", "http://" + c.listen);
  c.store = doc["store"];
  c.deadlines.timezone = doc.value("timezone", "UTC");
  for (const auto& h : doc.value("holidays", json::array())) c.deadlines.holidays.insert(h.get<std::string>());
  for (const auto& s : doc.value("slas", json::array())) {
    CustomSla sla;
    sla.name = s["name"];
    sla.days = s["days"];
    sla.extension_days = s.value("extension_days", 0);
    sla.business_days = s.value("business_days", false);
    sla.pausable = s.value("pausable", false);
    c.deadlines.custom.push_back(sla);
  }
  // The deadline engine validates the zone and dates; surface its errors here.
  auto engine = DeadlineEngine::Create(c.deadlines);
  if (!engine.ok()) return fail(engine.status());
  if (doc.contains("default_regulation"))
    c.default_regulation = *ParseRegulation(doc["default_regulation"].get<std::string>());

  std::set<std::string> names;
  for (size_t i = 0; i < doc.value("operators", json::array()).size(); ++i) {
    const json& o = doc["operators"][i];
    OperatorKey k{o["name"], o["role"], o["key_sha256"]};
    if (!names.insert(k.name).second)
      return fail(
          Status::Invalid("duplicate operator name \"" + k.name + "\"", "/operators/" + std::to_string(i) + "/name"));
    c.operators.push_back(k);
  }

  if (doc.contains("self_service")) {
    const json& ss = doc["self_service"];
    if (ss.contains("jwt")) {
      c.jwt_secret_env = ss["jwt"]["hs256_secret_env"];
      c.jwt_issuer = ss["jwt"]["issuer"];
      c.jwt_audience = ss["jwt"]["audience"];
    }
    for (const auto& t : ss.value("auto_approve", json::array()))
      c.auto_approve.insert(*ParseRequestType(t.get<std::string>()));
    auto g = DurationAt(ss, "erasure_grace", "/self_service", c.erasure_grace);
    if (!g.ok()) return fail(g.status());
    c.erasure_grace = *g;
  }
  if (doc.contains("exports")) {
    const json& ex = doc["exports"];
    c.exports_dir = ex.value("dir", c.exports_dir);
    auto ttl = DurationAt(ex, "link_ttl", "/exports", c.link_ttl);
    if (!ttl.ok()) return fail(ttl.status());
    c.link_ttl = *ttl;
    auto keep = DurationAt(ex, "keep", "/exports", c.exports_keep);
    if (!keep.ok()) return fail(keep.status());
    c.exports_keep = *keep;
    c.export_password_env = ex.value("password_env", "");
  }
  if (doc.contains("workers")) {
    const json& w = doc["workers"];
    c.worker_concurrency = w.value("concurrency", c.worker_concurrency);
    c.worker_retries = w.value("retries", c.worker_retries);
    if (w.contains("lease")) {
      auto lease = ParseIsoDuration(w["lease"].get<std::string>());
      if (!lease.ok()) return fail(Status::Invalid(lease.status().message(), "/workers/lease"));
      c.worker_lease = lease->Approx();
      // Heartbeats come every third of the lease; under a second the store's
      // clock (whole seconds) cannot tell a live lease from an expired one.
      if (c.worker_lease < std::chrono::seconds(1))
        return fail(Status::Invalid("the lease must be at least PT1S", "/workers/lease"));
    }
  }
  if (doc.contains("audit")) {
    const json& a = doc["audit"];
    c.audit_key_env = a["pseudonym_key_env"];
    c.audit_chain_key_env = a.value("chain_key_env", "");
    if (a.contains("anchor_file")) {
      c.audit_anchor_file = c.Resolve(a["anchor_file"].get<std::string>());
      // The anchor exists to outlive a rewrite of the store: it must not be the store itself.
      if (c.store.contains("sqlite") && c.store["sqlite"].is_string()) {
        const std::string db = c.Resolve(c.store["sqlite"].get<std::string>());
        for (const char* suffix : {"", "-wal", "-shm", "-journal"})
          if (std::filesystem::path(c.audit_anchor_file).lexically_normal() ==
              std::filesystem::path(db + suffix).lexically_normal())
            return fail(Status::Invalid("the anchor file must be outside the store", "/audit/anchor_file"));
      }
    }
  }
  if (doc.contains("notify")) {
    c.notify = doc["notify"];
    for (size_t i = 0; i < c.notify.value("reminders", json::array()).size(); ++i) {
      auto d = ParseIsoDuration(c.notify["reminders"][i].get<std::string>());
      if (!d.ok()) return fail(Status::Invalid(d.status().message(), "/notify/reminders/" + std::to_string(i)));
    }
  }
  c.recipients = doc.value("recipients", json::array());
  c.connectors = doc["connectors"];
  names.clear();
  for (size_t i = 0; i < c.connectors.size(); ++i) {
    const std::string n = c.connectors[i]["name"];
    if (!names.insert(n).second)
      return fail(
          Status::Invalid("duplicate connector name \"" + n + "\"", "/connectors/" + std::to_string(i) + "/name"));
  }
  return c;
}

Result<Config> LoadConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::Invalid(path + ": cannot read the file");
  std::stringstream buf;
  buf << in.rdbuf();
  // Strict like every JSON Lethe reads: a duplicate key in a config would
  // otherwise silently drop the first value (a connector, a retention rule).
  Result<json> doc = ParseStrictJson(buf.str());
  if (!doc.ok()) {
    const Status& st = doc.status();
    return Status::Invalid(path + ": not valid JSON: " + st.ToString(), st.field());
  }
  std::string base = std::filesystem::absolute(path).parent_path().string();
  return ParseConfig(*doc, path, base);
}

}  // namespace lethe
