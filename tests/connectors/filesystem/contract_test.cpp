// The connector contract (tests/connectors/contract/) over real directories.
#include "connectors/contract/object_world.h"

namespace {

using nlohmann::json;

class FilesystemWorld : public lethe::contract::ObjectWorld {
 public:
  FilesystemWorld() {
    for (const auto& r : lethe::contract::Rows()) lethe::test::WriteFile(dir_ / ("root/" + ObjectKey(r)), r.body);
  }
  std::string type() const override { return "filesystem"; }
  json Config(const json& erase, const json& retain) const override {
    return {{"name", "files"}, {"type", "filesystem"}, {"root", "root"}, {"objects", Objects(erase, retain)}};
  }
  lethe::ConnectorContext Context() const override { return lethe::test::Context(dir_.path().string()); }

 private:
  lethe::test::TempDir dir_{"lethe-fs-contract"};
};

}  // namespace

LETHE_CONNECTOR_CONTRACT(FilesystemWorld, "[filesystem]")
