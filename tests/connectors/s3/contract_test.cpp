// The connector contract (tests/connectors/contract/) against a real S3
// server (LETHE_S3_*), in a bucket of its own per case.
#include "connectors/contract/object_world.h"
#include "support/s3_bucket.h"

namespace {

using nlohmann::json;

class S3World : public lethe::contract::ObjectWorld {
 public:
  S3World() {
    for (const auto& r : lethe::contract::Rows()) bucket_.Put(ObjectKey(r), r.body);
  }
  std::string type() const override { return "s3"; }
  json Config(const json& erase, const json& retain) const override { return bucket_.Config(Objects(erase, retain)); }

 private:
  lethe::test::S3Bucket bucket_;
};

}  // namespace

LETHE_CONNECTOR_CONTRACT(S3World, "[s3]")
