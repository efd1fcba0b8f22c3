// The connector contract (tests/connectors/contract/) over real log files.
#include "connectors/contract/contract_suite.h"

namespace {

using lethe::contract::Rows;
using nlohmann::json;

class JsonlWorld : public lethe::contract::World {
 public:
  JsonlWorld() {
    std::string lines;
    for (const auto& r : Rows()) {
      lines += json{{"id", r.id}, {"owner", r.owner}, {"body", r.body}, {"created", r.created}}.dump() + "\n";
    }
    lethe::test::WriteFile(dir_ / "logs/app.jsonl", lines);
  }

  std::string type() const override { return "jsonl"; }
  json Config(const json& erase, const json& retain) const override {
    return lethe::contract::WithErase(
        {{"name", "logs"}, {"type", "jsonl"}, {"files", "logs/*.jsonl"}, {"match", {{"owner", "{identity.user_id}"}}}},
        erase.is_null() ? json("drop") : erase, retain);
  }
  lethe::ConnectorContext Context() const override { return lethe::test::Context(dir_.path().string()); }
  lethe::Match MatchOwner(const std::string& id) const override { return {{"owner", {id}}}; }
  std::string Body(lethe::Connector&, const lethe::CollectionSpec&, const lethe::Item& item) const override {
    return item.fields.value("body", "<none>");
  }
  lethe::contract::Masking masking() const override { return lethe::contract::Masking::kRedactFields; }
  std::string retain_from() const override { return "created"; }

 private:
  lethe::test::TempDir dir_{"lethe-jsonl-contract"};
};

}  // namespace

LETHE_CONNECTOR_CONTRACT(JsonlWorld, "[jsonl]")
