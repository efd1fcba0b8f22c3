// The connector contract (tests/connectors/contract/) against a real
// PostgreSQL (LETHE_PG_DSN), in a schema of its own per case.
#include "connectors/contract/contract_suite.h"
#include "support/services.h"

namespace {

using lethe::contract::Rows;
using nlohmann::json;

class PostgresWorld : public lethe::contract::TableWorld {
 public:
  PostgresWorld() {
    db_.Exec("CREATE TABLE items (id text PRIMARY KEY, owner text, body text, created text)");
    for (const auto& r : Rows()) {
      db_.Exec("INSERT INTO items VALUES (" + Quote(r.id) + ", " + Quote(r.owner) + ", " + Quote(r.body) + ", " +
               Quote(r.created) + ")");
    }
  }

  std::string type() const override { return "postgres"; }
  json Config(const json& erase, const json& retain) const override {
    return {{"name", "app"},
            {"type", "postgres"},
            {"dsn_env", "LETHE_PG_DSN"},
            {"schema", db_.name()},
            {"collections", {Items(erase, retain)}}};
  }

 private:
  // A string literal for set-up SQL (values here are the test's own).
  static std::string Quote(const std::string& v) {
    std::string out = "'";
    for (char c : v) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
  }

  lethe::test::PgSchema db_;
};

}  // namespace

LETHE_CONNECTOR_CONTRACT(PostgresWorld, "[postgres]")
