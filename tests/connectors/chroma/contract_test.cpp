// The connector contract (tests/connectors/contract/) against a real Chroma
// server (LETHE_CHROMA_URL), in a collection of its own per case.
#include "connectors/contract/contract_suite.h"
#include "support/services.h"

namespace {

using lethe::contract::Rows;
using nlohmann::json;

class ChromaWorld : public lethe::contract::World {
 public:
  ChromaWorld() {
    json ids = json::array(), embeddings = json::array(), documents = json::array(), metadatas = json::array();
    double x = 0;
    for (const auto& r : Rows()) {
      ids.push_back(r.id);
      embeddings.push_back({x, 1.0, -x});
      x += 0.5;
      documents.push_back(r.body);
      metadatas.push_back({{"owner", r.owner}, {"created", r.created}});
    }
    coll_.Add({{"ids", ids}, {"embeddings", embeddings}, {"documents", documents}, {"metadatas", metadatas}});
  }

  std::string type() const override { return "chroma"; }
  json Config(const json& erase, const json& retain) const override {
    json c = lethe::contract::WithErase(
        {{"name", coll_.name()}, {"where", {{"owner", "{app.users.id}"}}}, {"portable", true}}, erase, retain);
    return {{"name", "vectors"},
            {"type", "chroma"},
            {"url", lethe::test::ServiceEnv("LETHE_CHROMA_URL")},
            {"collections", {c}}};
  }
  lethe::Match MatchOwner(const std::string& id) const override { return {{"owner", {id}}}; }
  std::string Body(lethe::Connector&, const lethe::CollectionSpec&, const lethe::Item& item) const override {
    return item.fields.value("document", "<none>");
  }
  lethe::contract::Masking masking() const override { return lethe::contract::Masking::kNone; }
  std::string retain_from() const override { return "created"; }

 private:
  lethe::test::ChromaCollection coll_;
};

}  // namespace

LETHE_CONNECTOR_CONTRACT(ChromaWorld, "[chroma]")
