// A fresh bucket on the test S3 server (LETHE_S3_*), emptied and removed
// afterwards. Only for binaries that link the s3 connector (its client).
#pragma once

#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "s3/s3_client.h"
#include "support/support.h"

namespace lethe::test {

class S3Bucket {
 public:
  S3Bucket() {
    name_ = UniqueName("lethe-t", "-");
    s3::ClientConfig cc;
    cc.endpoint = ServiceEnv("LETHE_S3_ENDPOINT");
    cc.bucket = name_;
    cc.access_key = ServiceEnv("LETHE_S3_ACCESS_KEY");
    cc.secret_key = ServiceEnv("LETHE_S3_SECRET_KEY");
    auto c = s3::Client::Make(cc);
    REQUIRE(c.ok());
    client_ = std::make_unique<s3::Client>(std::move(*c));
    Status s = client_->CreateBucket();
    INFO(s.ToString());
    REQUIRE(s.ok());
  }
  ~S3Bucket() {
    // Best effort: empty and remove the bucket.
    std::string token;
    for (int i = 0; i < 100; ++i) {
      auto page = client_->List("", token);
      if (!page.ok()) break;
      for (const auto& o : page->objects) (void)client_->Delete(o.key);
      if (!page->truncated) break;
      token = page->next_token;
    }
    (void)client_->DeleteBucket();
  }
  S3Bucket(const S3Bucket&) = delete;
  S3Bucket& operator=(const S3Bucket&) = delete;

  void Put(const std::string& key, const std::string& body) {
    Status s = client_->Put(key, body);
    INFO(key << ": " << s.ToString());
    REQUIRE(s.ok());
  }
  bool Exists(const std::string& key) {
    auto e = client_->Exists(key);
    REQUIRE(e.ok());
    return *e;
  }

  // The connector config for this bucket, credentials by env name.
  nlohmann::json Config(nlohmann::json objects) const {
    return {{"name", "blobs"},
            {"type", "s3"},
            {"endpoint", ServiceEnv("LETHE_S3_ENDPOINT")},
            {"bucket", name_},
            {"region", "us-east-1"},
            {"access_key_env", "LETHE_S3_ACCESS_KEY"},
            {"secret_key_env", "LETHE_S3_SECRET_KEY"},
            {"path_style", true},
            {"objects", std::move(objects)}};
  }

  const std::string& name() const { return name_; }
  s3::Client& client() { return *client_; }

 private:
  std::string name_;
  std::unique_ptr<s3::Client> client_;
};

}  // namespace lethe::test
