// The "s3" connector: a subject's objects in an S3 bucket (AWS or any
// S3-compatible server), over the REST API with SigV4 signing.
//
//   {"name": "blobs", "type": "s3", "endpoint": "https://s3.eu-central-1.amazonaws.com",
//    "bucket": "uploads", "region": "eu-central-1", "access_key_env": "S3_KEY",
//    "secret_key_env": "S3_SECRET", "path_style": true,
//    "objects": [{"name": "uploads", "prefix": "{app.users.id}/", "categories": ["uploads"],
//                 "purpose": "...", "portable": true, "erase": "delete", "retain": {...}}]}
//
// As with the filesystem connector, each "objects" entry is one collection
// whose link column is "prefix"; a key belongs to the subject when it starts
// with one of the resolved prefixes. A prefix template may not end with a
// placeholder ("{id}" would also match "{id}0..."). Resolved prefixes and every
// key pass CheckKey before they reach a URL: keys with "..", a leading '/' or
// control characters are never listed, read or deleted.
#include <algorithm>
#include <set>

#include <spdlog/spdlog.h>

#include "lethe/hex.h"
#include "lethe/json_pointer.h"
#include "lethe/mask.h"
#include "lethe/connector.h"
#include "lethe/connector_config.h"
#include "lethe/time.h"
#include "s3_client.h"

namespace lethe {
namespace {

class S3Connector : public Connector {
 public:
  S3Connector(std::string name, s3::Client client, std::vector<CollectionSpec> specs)
      : name_(std::move(name)), client_(std::move(client)), specs_(std::move(specs)) {}

  const std::string& name() const override { return name_; }
  const std::vector<CollectionSpec>& collections() const override { return specs_; }

  Status Connect() override {
    // One listing of at most one key proves endpoint, credentials and bucket.
    auto page = client_.List("", "", 1);
    if (!page.ok()) return Wrap(page.status());
    return Status::Ok();
  }

  Status Find(const CollectionSpec& c, const Match& m, const std::function<Status(const Item&)>& sink) override {
    std::vector<std::string> prefixes;
    LETHE_RETURN_IF_ERROR(Prefixes(m, &prefixes));
    // A key under two (nested) prefixes is reported once; with one prefix
    // there is nothing to remember.
    std::set<std::string> seen;
    bool dedupe = prefixes.size() > 1;
    int64_t skipped = 0;
    for (const std::string& prefix : prefixes) {
      std::string token;
      do {
        auto page = client_.List(prefix, token);
        if (!page.ok()) return Wrap(page.status());
        for (const s3::ObjectInfo& o : page->objects) {
          if (o.key.compare(0, prefix.size(), prefix) != 0) continue;
          if (!o.key.empty() && o.key.back() == '/') continue;  // "folder" marker, no content
          if (!s3::CheckKey(o.key, "key").ok()) {
            ++skipped;
            continue;
          }
          if (dedupe && !seen.insert(o.key).second) continue;
          Item item;
          item.key = o.key;
          item.size = o.size;
          item.fields = {{"key", o.key}, {"size", o.size}};
          if (!o.last_modified.empty()) item.fields["modified"] = o.last_modified;
          LETHE_RETURN_IF_ERROR(sink(item));
        }
        token = page->truncated ? page->next_token : "";
      } while (!token.empty());
    }
    if (skipped > 0) {
      // Such keys cannot be exported or erased safely; an operator must look.
      spdlog::warn("connector={} collection={} skipped={} event=unsafe_object_keys", name_, c.name, skipped);
    }
    return Status::Ok();
  }

  Status ReadObject(const CollectionSpec& c, const Item& item,
                    const std::function<Status(std::string_view)>& sink) override {
    LETHE_RETURN_IF_ERROR(s3::CheckKey(item.key, "object key"));
    // The sink's own error is returned as it is; transfer errors are ours.
    Status sink_status;
    Status s = client_.Get(item.key, [&](std::string_view chunk) {
      sink_status = sink(chunk);
      return sink_status;
    });
    if (!sink_status.ok()) return sink_status;
    if (s.code() == Code::kNotFound) return Status::NotFound("connector " + name_ + ": object is gone");
    return s.ok() ? s : Wrap(s);
  }

  Result<int64_t> Erase(const CollectionSpec& c, const Match& m, const std::vector<std::string>& keys,
                        const EraseAction& a) override {
    if (a.kind == EraseAction::Kind::kKeep) return int64_t{0};
    if (a.kind != EraseAction::Kind::kDelete) {
      return Status::Invalid("connector " + name_ + " can only delete or keep objects");
    }
    std::vector<std::string> prefixes;
    LETHE_RETURN_IF_ERROR(Prefixes(m, &prefixes));
    // Every key is checked before any is deleted.
    for (const std::string& key : keys) {
      LETHE_RETURN_IF_ERROR(s3::CheckKey(key, "object key"));
      if (key.back() == '/') return Status::Invalid("object key names a folder");
      // Defense in depth: a key outside the subject's prefixes is never deleted.
      if (!prefixes.empty() && std::none_of(prefixes.begin(), prefixes.end(),
                                            [&](const std::string& p) { return key.compare(0, p.size(), p) == 0; })) {
        return Status::Invalid("object key is outside the subject's prefixes");
      }
    }
    int64_t removed = 0;
    for (const std::string& key : keys) {
      // S3 answers a DELETE the same whether the key existed or not; asking
      // first keeps the count honest across a resumed erasure.
      auto exists = client_.Exists(key);
      if (!exists.ok()) return Wrap(exists.status());
      if (!*exists) continue;
      Status s = client_.Delete(key);
      if (!s.ok()) return Wrap(s);
      ++removed;
    }
    return removed;
  }

 private:
  Status Prefixes(const Match& m, std::vector<std::string>* out) {
    for (const MatchTerm& t : m) {
      if (t.column != "prefix") return Status::Invalid("object collections match on \"prefix\", not " + t.column);
      for (const auto& v : t.values) {
        LETHE_RETURN_IF_ERROR(s3::CheckKey(v, "prefix"));
        out->push_back(v);
      }
    }
    std::sort(out->begin(), out->end());
    out->erase(std::unique(out->begin(), out->end()), out->end());
    return Status::Ok();
  }

  Status Wrap(const Status& s) const { return Status(s.code(), "connector " + name_ + ": " + s.message()); }

  std::string name_;
  s3::Client client_;
  std::vector<CollectionSpec> specs_;
};

Result<std::unique_ptr<Connector>> MakeS3(const nlohmann::json& config, const std::string& pointer,
                                          const ConnectorContext& ctx) {
  ConnectorConfigReader r(config, pointer, ctx, "s3");
  std::string name = r.Name();
  s3::ClientConfig cc;
  cc.endpoint = r.String("endpoint", ConnectorConfigReader::kRequired, "an http:// or https:// URL");
  cc.bucket = r.String("bucket", ConnectorConfigReader::kRequired, "a bucket name");
  if (const nlohmann::json* v = r.Raw("region", ConnectorConfigReader::kOptional)) {
    if (!v->is_string() || v->get<std::string>().empty() ||
        v->get<std::string>().find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos) {
      r.Fail("region", "must be a region name such as eu-central-1");
    } else {
      cc.region = v->get<std::string>();
    }
  }
  cc.access_key = r.Env("access_key_env", ConnectorConfigReader::kRequired);
  cc.secret_key = r.Env("secret_key_env", ConnectorConfigReader::kRequired);
  cc.path_style = r.Bool("path_style", cc.path_style);
  const nlohmann::json* objects = r.Raw("objects", ConnectorConfigReader::kRequired);
  LETHE_RETURN_IF_ERROR(r.Finish());

  auto client = s3::Client::Make(cc);
  if (!client.ok()) {
    std::string field = client.status().message().rfind("bucket", 0) == 0 ? "/bucket" : "/endpoint";
    return Status::Invalid(client.status().message(), pointer + field);
  }

  LETHE_ASSIGN_OR_RETURN(auto specs, ParseObjectCollections(*objects, name, pointer + "/objects", s3::CheckKey));
  return std::unique_ptr<Connector>(new S3Connector(std::move(name), std::move(*client), std::move(specs)));
}

}  // namespace

LETHE_REGISTER_CONNECTOR("s3", MakeS3)

}  // namespace lethe
