// What the object-store worlds (filesystem, s3) share: each row is the
// object "<owner>/<id>.txt" holding its body, and the collection's prefix
// template is "{app.users.id}/".
#pragma once

#include "connectors/contract/contract_suite.h"

namespace lethe::contract {

class ObjectWorld : public World {
 public:
  static std::string ObjectKey(const Row& r) { return r.owner + "/" + r.id + ".txt"; }

  nlohmann::json Objects(const nlohmann::json& erase, const nlohmann::json& retain) const {
    return nlohmann::json::array(
        {WithErase({{"name", "uploads"}, {"prefix", "{app.users.id}/"}, {"portable", true}}, erase, retain)});
  }
  Match MatchOwner(const std::string& id) const override { return {{"prefix", {id + "/"}}}; }
  std::string Body(Connector& c, const CollectionSpec& spec, const Item& item) const override {
    std::string content;
    Status st = c.ReadObject(spec, item, [&](std::string_view chunk) {
      content.append(chunk);
      return Status::Ok();
    });
    return st.ok() ? content : "<" + st.ToString() + ">";
  }
  Masking masking() const override { return Masking::kNone; }
  std::string retain_from() const override { return "modified"; }
};

}  // namespace lethe::contract
