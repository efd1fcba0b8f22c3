// The "chroma" connector: entries of a Chroma vector database server (HTTP API
// v2) that belong to a subject through their metadata.
//
//   {"name": "vectors", "type": "chroma", "url": "http://127.0.0.1:8000",
//    "tenant": "default_tenant", "database": "default_database",
//    "collections": [{"name": "cv_chunks", "where": {"user_id": "{app.users.id}"},
//                     "categories": ["cv"], "purpose": "matching", "portable": false,
//                     "erase": "delete", "omit": ["embeddings"]}]}
//
// An entry belongs to the subject when ANY "where" field equals one of the
// resolved values (Chroma's {"$in": [...]}, joined with "$or"). Values only
// ever travel inside JSON bodies. Items: key = the Chroma id; fields = {id,
// document, metadata, embedding (a float array)}; "omit" leaves out
// "embeddings", "documents" or "metadatas" (and they are then not fetched).
//
// Erasure deletes by id, and only ids that still match the subject's "where":
// a wrong id can never remove another subject's entry.
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include <spdlog/spdlog.h>

#include "lethe/hex.h"
#include "lethe/json_pointer.h"
#include "lethe/mask.h"
#include "lethe/connector.h"
#include "lethe/util/names.h"
#include "lethe/util/uri.h"
#include "lethe/connector_config.h"
#include "lethe/strict_json.h"
#include "lethe/time.h"

namespace lethe {
namespace {

constexpr int kPage = 100;      // entries per get (embeddings make pages big)
constexpr size_t kBatch = 500;  // ids per get/delete/update
constexpr size_t kMaxBody = 64 * 1024 * 1024;

using json = nlohmann::json;

// Metadata fields, tenants and databases are dotted names (lethe/util/names.h;
// connector names are plain names).
using util::IsDottedName;

// Chroma collection names: 3-512 of [A-Za-z0-9._-], starting and ending
// with a letter or digit.
bool IsCollectionName(const std::string& s) {
  if (s.size() < 3 || !IsDottedName(s, 512)) return false;
  return std::isalnum(static_cast<unsigned char>(s.front())) && std::isalnum(static_cast<unsigned char>(s.back()));
}

bool IsCanonicalInteger(const std::string& s) {
  if (s.empty() || s.size() > 18) return false;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size() || (s[i] == '0' && s.size() > i + 1)) return false;
  for (; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t WriteToString(char* p, size_t size, size_t n, void* ud) {
  auto* s = static_cast<std::string*>(ud);
  if (s->size() + size * n > kMaxBody) return 0;
  s->append(p, size * n);
  return size * n;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

Result<CollectionSpec> ParseCollection(const json& j, const std::string& connector, const std::string& pointer) {
  if (!j.is_object()) return Status::Invalid("a collection must be an object", pointer);
  CollectionSpec c;
  c.connector = connector;
  c.pointer = pointer;
  bool has_where = false;
  for (const auto& [k, v] : j.items()) {
    std::string p = pointer + "/" + PointerToken(k);
    if (k == "name") {
      if (!v.is_string() || !IsCollectionName(v.get<std::string>())) {
        return Status::Invalid("must be a Chroma collection name (3-512 of [A-Za-z0-9._-])", p);
      }
      c.name = v.get<std::string>();
    } else if (k == "where") {
      if (!v.is_object() || v.empty()) return Status::Invalid("must be an object {metadata_field: template}", p);
      for (const auto& [field, tmpl] : v.items()) {
        std::string lp = p + "/" + PointerToken(field);
        if (!IsDottedName(field)) return Status::Invalid("\"" + field + "\" is not a plain metadata field name", lp);
        if (!tmpl.is_string()) return Status::Invalid("must be a string such as \"{app.users.id}\"", lp);
        std::string t = tmpl.get<std::string>();
        size_t open = t.find('{');
        if (open == std::string::npos || t.find('}', open) == std::string::npos) {
          return Status::Invalid(
              "must contain a placeholder such as \"{app.users.id}\"; a fixed value would "
              "match every subject",
              lp);
        }
        c.links.push_back({field, t, lp});
      }
      has_where = true;
    } else if (Status st; ParseDescriptiveKey(k, v, p, &c, &st)) {
      LETHE_RETURN_IF_ERROR(st);
    } else if (k == "erase") {
      LETHE_RETURN_IF_ERROR(ParseDeleteOrKeep(v, p, "vector entries", &c.erase));
    } else if (k == "retain") {
      Retention r;
      LETHE_RETURN_IF_ERROR(ParseRetention(
          v, p,
          [](const std::string& from, const std::string& fp) {
            return IsDottedName(from) ? Status::Ok() : Status::Invalid("must be a metadata field name", fp);
          },
          &r));
      c.retain = std::move(r);
    } else if (k == "omit") {
      LETHE_RETURN_IF_ERROR(ParseStringList(v, p, &c.omit));
      static const std::set<std::string> parts = {"embeddings", "embedding", "documents",
                                                  "document",   "metadatas", "metadata"};
      for (size_t i = 0; i < c.omit.size(); ++i) {
        if (!parts.count(c.omit[i])) {
          return Status::Invalid("can omit \"embeddings\", \"documents\" or \"metadatas\"",
                                 p + "/" + std::to_string(i));
        }
      }
    } else {
      return Status::Invalid("unknown key \"" + k + "\"", p);
    }
  }
  if (c.name.empty()) return Status::Invalid("collection needs a \"name\"", pointer);
  if (!has_where)
    return Status::Invalid("collection \"" + c.name + "\" needs \"where\" to tie entries to a subject", pointer);
  if (c.retain) c.erase.kind = EraseAction::Kind::kKeep;
  return c;
}

bool Omitted(const CollectionSpec& c, const std::string& plural) {
  std::string singular = plural.substr(0, plural.size() - 1);
  return std::find(c.omit.begin(), c.omit.end(), plural) != c.omit.end() ||
         std::find(c.omit.begin(), c.omit.end(), singular) != c.omit.end();
}

class ChromaConnector : public Connector {
 public:
  ChromaConnector(std::string name, std::string url, std::string tenant, std::string database,
                  std::vector<CollectionSpec> specs)
      : name_(std::move(name)),
        url_(std::move(url)),
        tenant_(std::move(tenant)),
        database_(std::move(database)),
        specs_(std::move(specs)) {}

  const std::string& name() const override { return name_; }
  const std::vector<CollectionSpec>& collections() const override { return specs_; }

  Status Connect() override {
    std::lock_guard<std::mutex> lock(mu_);
    ids_.clear();
    for (const CollectionSpec& c : specs_) {
      std::string id;
      Status s = ResolveId(c, &id);
      if (s.code() == Code::kNotFound) {
        return Status::Invalid("Chroma has no collection \"" + c.name + "\" in " + tenant_ + "/" + database_ +
                                   " (connector " + name_ + ")",
                               c.pointer + "/name");
      }
      LETHE_RETURN_IF_ERROR(s);
      ids_[c.name] = id;
    }
    return Status::Ok();
  }

  Status Find(const CollectionSpec& c, const Match& m, const std::function<Status(const Item&)>& sink) override {
    std::string id;
    LETHE_RETURN_IF_ERROR(CollectionId(c, &id));
    json where;
    LETHE_RETURN_IF_ERROR(Where(c, m, &where));
    if (where.is_null()) return Status::Ok();  // no values: nothing can match

    bool want_embeddings = !Omitted(c, "embeddings");
    bool want_documents = !Omitted(c, "documents");
    bool want_metadatas = !Omitted(c, "metadatas");
    // Retention reads the date it counts from among an item's top-level
    // fields; here it is a metadata field, so it is lifted out (and fetched
    // even when metadatas are omitted).
    const std::string retain_from = c.retain ? c.retain->from : "";
    json include = json::array();
    if (want_documents) include.push_back("documents");
    if (want_metadatas || !retain_from.empty()) include.push_back("metadatas");
    if (want_embeddings) include.push_back("embeddings");

    for (int offset = 0;; offset += kPage) {
      json body = {{"where", where}, {"include", include}, {"limit", kPage}, {"offset", offset}};
      json page;
      LETHE_RETURN_IF_ERROR(Post(CollectionPath(id) + "/get", body, &page));
      if (!page.contains("ids") || !page["ids"].is_array()) return Io("get returned no ids");
      const json& ids = page["ids"];
      for (size_t i = 0; i < ids.size(); ++i) {
        if (!ids[i].is_string()) return Io("get returned a non-string id");
        Item item;
        item.key = ids[i].get<std::string>();
        item.fields = {{"id", item.key}};
        if (want_documents) item.fields["document"] = Column(page, "documents", i);
        if (want_metadatas) item.fields["metadata"] = Column(page, "metadatas", i);
        if (want_embeddings) item.fields["embedding"] = Column(page, "embeddings", i);
        if (!retain_from.empty() && !item.fields.contains(retain_from)) {
          json metadata = Column(page, "metadatas", i);
          if (metadata.is_object() && metadata.contains(retain_from)) item.fields[retain_from] = metadata[retain_from];
        }
        LETHE_RETURN_IF_ERROR(sink(item));
      }
      if (ids.size() < static_cast<size_t>(kPage)) break;
    }
    return Status::Ok();
  }

  Result<int64_t> Erase(const CollectionSpec& c, const Match& m, const std::vector<std::string>& keys,
                        const EraseAction& a) override {
    if (a.kind == EraseAction::Kind::kKeep) return int64_t{0};
    if (a.kind != EraseAction::Kind::kDelete) {
      return Status::Invalid("connector " + name_ + " can only delete or keep vector entries");
    }
    std::string id;
    LETHE_RETURN_IF_ERROR(CollectionId(c, &id));
    json where;
    LETHE_RETURN_IF_ERROR(Where(c, m, &where));
    int64_t removed = 0;
    for (size_t start = 0; start < keys.size(); start += kBatch) {
      json batch(std::vector<std::string>(keys.begin() + static_cast<long>(start),
                                          keys.begin() + static_cast<long>(std::min(keys.size(), start + kBatch))));
      // Which of these ids exist (and, given a match, are the subject's):
      // only those are deleted and counted, so a re-run counts zero.
      json get = {{"ids", batch}, {"include", json::array()}};
      if (!where.is_null()) get["where"] = where;
      json found;
      LETHE_RETURN_IF_ERROR(Post(CollectionPath(id) + "/get", get, &found));
      if (!found.contains("ids") || !found["ids"].is_array()) return Io("get returned no ids");
      if (found["ids"].empty()) continue;
      json del = {{"ids", found["ids"]}};
      if (!where.is_null()) del["where"] = where;
      json ignored;
      LETHE_RETURN_IF_ERROR(Post(CollectionPath(id) + "/delete", del, &ignored));
      removed += static_cast<int64_t>(found["ids"].size());
    }
    return removed;
  }

  // Sets "document" and/or metadata fields (any other key) on the entries.
  Result<int64_t> Update(const CollectionSpec& c, const std::vector<std::string>& keys, const json& set) override {
    if (!set.is_object() || set.empty()) return Status::Invalid("update needs an object of fields to set");
    std::string id;
    LETHE_RETURN_IF_ERROR(CollectionId(c, &id));
    json metadata = json::object();
    std::optional<json> document;
    for (const auto& [k, v] : set.items()) {
      if (k == "document") {
        if (!v.is_string()) return Status::Invalid("document must be a string");
        document = v;
      } else if (k == "embedding" || k == "id") {
        return Status::Invalid("connector " + name_ + " cannot set \"" + k + "\"");
      } else {
        if (!IsDottedName(k)) return Status::Invalid("\"" + k + "\" is not a plain metadata field name");
        if (v.is_object() || v.is_array()) return Status::Invalid("metadata values must be scalars");
        metadata[k] = v;
      }
    }
    int64_t changed = 0;
    for (size_t start = 0; start < keys.size(); start += kBatch) {
      json batch(std::vector<std::string>(keys.begin() + static_cast<long>(start),
                                          keys.begin() + static_cast<long>(std::min(keys.size(), start + kBatch))));
      json found;
      LETHE_RETURN_IF_ERROR(Post(CollectionPath(id) + "/get", {{"ids", batch}, {"include", json::array()}}, &found));
      if (!found.contains("ids") || !found["ids"].is_array()) return Io("get returned no ids");
      size_t n = found["ids"].size();
      if (n == 0) continue;
      json body = {{"ids", found["ids"]}};
      if (!metadata.empty()) body["metadatas"] = json(std::vector<json>(n, metadata));
      if (document) body["documents"] = json(std::vector<json>(n, *document));
      json ignored;
      LETHE_RETURN_IF_ERROR(Post(CollectionPath(id) + "/update", body, &ignored));
      changed += static_cast<int64_t>(n);
    }
    return changed;
  }

 private:
  std::string DatabasePath() const {
    return "/api/v2/tenants/" + util::PercentEncode(tenant_) + "/databases/" + util::PercentEncode(database_);
  }
  std::string CollectionPath(const std::string& id) const {
    return DatabasePath() + "/collections/" + util::PercentEncode(id);
  }

  Status ResolveId(const CollectionSpec& c, std::string* id) {
    json r;
    LETHE_RETURN_IF_ERROR(Request("GET", DatabasePath() + "/collections/" + util::PercentEncode(c.name), nullptr, &r));
    if (!r.contains("id") || !r["id"].is_string() || r["id"].get<std::string>().empty()) {
      return Io("collection " + c.name + " has no id");
    }
    *id = r["id"].get<std::string>();
    return Status::Ok();
  }

  Status CollectionId(const CollectionSpec& c, std::string* id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = ids_.find(c.name);
    if (it != ids_.end()) {
      *id = it->second;
      return Status::Ok();
    }
    LETHE_RETURN_IF_ERROR(ResolveId(c, id));
    ids_[c.name] = *id;
    return Status::Ok();
  }

  // {"field": {"$in": [...]}} per match term, "$or"-joined; null when no
  // term has a value. A value that reads as an integer is also matched as a
  // number, since metadata may hold user_id as 42 or as "42".
  Status Where(const CollectionSpec& c, const Match& m, json* where) {
    json clauses = json::array();
    for (const MatchTerm& t : m) {
      bool linked = std::any_of(c.links.begin(), c.links.end(),
                                [&](const CollectionSpec::Link& l) { return l.column == t.column; });
      if (!linked) return Status::Invalid("collection " + c.name + " is not linked through field " + t.column);
      if (t.values.empty()) continue;
      json strings = json::array(), ints = json::array();
      for (const std::string& v : t.values) {
        strings.push_back(v);
        if (IsCanonicalInteger(v)) ints.push_back(std::stoll(v));
      }
      clauses.push_back({{t.column, {{"$in", strings}}}});
      if (!ints.empty()) clauses.push_back({{t.column, {{"$in", ints}}}});
    }
    if (clauses.empty())
      *where = nullptr;
    else if (clauses.size() == 1)
      *where = clauses[0];
    else
      *where = {{"$or", clauses}};
    return Status::Ok();
  }

  static json Column(const json& page, const char* name, size_t i) {
    if (!page.contains(name) || !page[name].is_array() || i >= page[name].size()) return nullptr;
    return page[name][i];
  }

  Status Io(const std::string& what) const { return Status::Io("connector " + name_ + ": " + what); }

  Status Post(const std::string& path, const json& body, json* out) { return Request("POST", path, &body, out); }

  Status Request(const std::string& method, const std::string& path, const json* body, json* out) {
    GlobalInit();
    std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
    if (!curl) return Status::Internal("curl_easy_init failed");
    CURL* c = curl.get();
    std::string url = url_ + path;
    std::string payload = body ? body->dump() : "";
    std::string response;
    std::unique_ptr<curl_slist, SlistDeleter> headers;
    auto add = [&](const char* h) { headers.reset(curl_slist_append(headers.release(), h)); };
    add("Accept: application/json");
    if (body) add("Content-Type: application/json");
    add("Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteToString);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &response);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (method == "POST") {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload.size()));
    } else if (method != "GET") {
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
      return Status::Unavailable("connector " + name_ + ": Chroma unreachable: " + curl_easy_strerror(rc));
    }
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    // Strict (depth, duplicate keys, integer range): a response is input
    // from outside like any request body.
    Result<json> strict = ParseStrictJson(response);
    json parsed = strict.ok() ? std::move(*strict) : json(json::value_t::discarded);
    if (code < 200 || code >= 300) {
      std::string msg = "connector " + name_ + ": Chroma answered HTTP " + std::to_string(code);
      if (!parsed.is_discarded() && parsed.is_object()) {
        // The error's name only: Chroma's message can quote the where
        // clause's values (the subject's ids).
        if (parsed.contains("error") && parsed["error"].is_string())
          msg += " " + parsed["error"].get<std::string>().substr(0, 100);
      }
      if (code == 404) return Status::NotFound(msg);
      if (code == 401 || code == 403) return Status::Forbidden(msg);
      if (code >= 500) return Status::Unavailable(msg);
      return Status::Io(msg);
    }
    // The refusal's text is not passed on: it may quote the response (data).
    if (parsed.is_discarded())
      return Io(
          "Chroma answered with JSON Lethe refuses (malformed, nested deeper than 64 levels, duplicate keys "
          "or integers beyond 2^53)");
    *out = std::move(parsed);
    return Status::Ok();
  }

  std::mutex mu_;  // guards ids_
  std::string name_;
  std::string url_;
  std::string tenant_;
  std::string database_;
  std::vector<CollectionSpec> specs_;
  std::map<std::string, std::string> ids_;  // collection name -> Chroma id
};

Result<std::unique_ptr<Connector>> MakeChroma(const json& config, const std::string& pointer,
                                              const ConnectorContext& ctx) {
  ConnectorConfigReader r(config, pointer, ctx, "chroma");
  std::string name = r.Name();
  std::string url = r.String("url", ConnectorConfigReader::kRequired, "an http:// or https:// URL");
  bool scheme = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
  if (!url.empty() && (!scheme || url.find_first_of("?#@ \\") != std::string::npos)) {
    r.Fail("url", "must be an http:// or https:// URL without user info, query or fragment");
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  std::string tenant = "default_tenant", database = "default_database";
  for (const char* key : {"tenant", "database"}) {
    const json* v = r.Raw(key, ConnectorConfigReader::kOptional);
    if (v == nullptr) continue;
    if (!v->is_string() || !IsDottedName(v->get<std::string>())) {
      r.Fail(key, "must be a plain name ([A-Za-z0-9_.-]+)");
    } else {
      (std::string(key) == "tenant" ? tenant : database) = v->get<std::string>();
    }
  }
  const json* collections = r.NonEmptyArray("collections", ConnectorConfigReader::kRequired);
  LETHE_RETURN_IF_ERROR(r.Finish());
  std::vector<CollectionSpec> specs;
  std::set<std::string> names;
  for (size_t i = 0; i < collections->size(); ++i) {
    std::string p = pointer + "/collections/" + std::to_string(i);
    LETHE_ASSIGN_OR_RETURN(auto spec, ParseCollection((*collections)[i], name, p));
    if (!names.insert(spec.name).second) return Status::Invalid("duplicate collection \"" + spec.name + "\"", p);
    specs.push_back(std::move(spec));
  }
  return std::unique_ptr<Connector>(
      new ChromaConnector(std::move(name), std::move(url), std::move(tenant), std::move(database), std::move(specs)));
}

}  // namespace

LETHE_REGISTER_CONNECTOR("chroma", MakeChroma)

}  // namespace lethe
