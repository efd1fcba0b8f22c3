// `lethe check --config FILE`: validates config, builds the data graph,
// connects to every connector and prints the graph.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "lethe/exec.h"

namespace lethe::cli {

void AddCheckCommand(CLI::App& app) {
  auto config = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand("check", "Validate config, connect to every connector, print the data graph");
  sub->add_option("--config", *config, "Config file")->required();
  sub->add_flag("--json", *as_json, "Print the graph as JSON");
  sub->callback([config, as_json] {
    auto cfg = LoadConfig(*config);
    if (!cfg.ok()) return (void)Fail(Status::Invalid(cfg.status().message()));
    if (!cfg->jwt_secret_env.empty()) {
      Result<std::string> secret = cfg->JwtSecret();
      if (!secret.ok()) return (void)Fail(Status::Invalid(*config + ": " + secret.status().ToString()));
    }
    auto graph = CheckConnectors(*cfg);
    if (!graph.ok()) {
      const Status& st = graph.status();
      // Config mistakes exit 2 with file and pointer; unreachable systems exit 1.
      if (st.code() == Code::kInvalid) return (void)Fail(Status::Invalid(*config + ": " + st.ToString()));
      return (void)Fail(st);
    }
    if (*as_json) {
      std::printf("%s\n", graph->dump(2).c_str());
      return;
    }
    std::printf("%s: ok\n", config->c_str());
    std::printf("%s\n", graph->dump(2).c_str());
  });
}

}  // namespace lethe::cli
