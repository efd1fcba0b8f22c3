// A small S3 REST client over libcurl: just what the s3 connector (and its
// tests, to set up buckets) need. Requests are signed with our own SigV4
// (sigv4.h), which also sends x-amz-content-sha256 as S3 requires.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lethe/status.h"

namespace lethe::s3 {

struct ClientConfig {
  std::string endpoint;  // "https://s3.eu-central-1.amazonaws.com" or "http://127.0.0.1:4568"
  std::string bucket;
  std::string region = "us-east-1";
  std::string access_key;
  std::string secret_key;
  bool path_style = true;  // /bucket/key; false: bucket.host/key
};

struct ObjectInfo {
  std::string key;
  int64_t size = 0;
  std::string last_modified;  // as S3 reports it (ISO 8601)
};

struct ListPage {
  std::vector<ObjectInfo> objects;
  bool truncated = false;
  std::string next_token;
};

// Checks an object key or key prefix before it reaches a URL or an export
// path: not empty, at most 1024 bytes, no leading '/', no control
// characters or backslashes, no empty, "." or ".." component (a prefix may end
// with '/').
Status CheckKey(std::string_view key, const std::string& what);

// Decodes XML character references and the five predefined entities.
std::string XmlDecode(std::string_view s);

// Parses a ListObjectsV2 response body.
Result<ListPage> ParseListObjectsV2(std::string_view xml);

class Client {
 public:
  // Checks the endpoint (http or https, no user info, query or fragment) and bucket name.
  static Result<Client> Make(ClientConfig config);

  // One page of ListObjectsV2 under `prefix`, continuing from `token`.
  Result<ListPage> List(const std::string& prefix, const std::string& token, int max_keys = 1000);
  // Streams an object's content to `sink`; a sink error stops the transfer and is returned.
  Status Get(const std::string& key, const std::function<Status(std::string_view)>& sink);
  // Whether the object exists.
  Result<bool> Exists(const std::string& key);
  Status Delete(const std::string& key);
  Status Put(const std::string& key, std::string_view body);
  // Bucket-level calls (tests and set-up).
  Status CreateBucket();
  Status DeleteBucket();

  const ClientConfig& config() const { return config_; }

 private:
  struct Response {
    long code = 0;
    std::string body;  // error bodies and listings; object content goes to the sink
  };
  explicit Client(ClientConfig config) : config_(std::move(config)) {}
  Result<Response> Perform(const std::string& method, const std::string& key,
                           const std::vector<std::pair<std::string, std::string>>& query, std::string_view body,
                           const std::function<Status(std::string_view)>* sink);
  Status HttpError(const std::string& what, const Response& r) const;

  ClientConfig config_;
  std::string scheme_;     // "http" / "https"
  std::string authority_;  // host[:port] as the Host header carries it
  std::string base_path_;  // endpoint path without a trailing '/', usually ""
};

}  // namespace lethe::s3
