// `lethe audit verify --config FILE`: checks the hash chain; names the first
// broken entry and exits 1 when it is broken.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/context.h"

namespace lethe::cli {

void AddAuditCommands(CLI::App& app) {
  auto* audit = app.add_subcommand("audit", "The tamper-evident audit log");
  audit->require_subcommand(1);
  auto config = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  auto* verify = audit->add_subcommand("verify", "Verify the audit hash chain");
  verify->add_option("--config", *config, "Config file")->required();
  verify->callback([config] {
    auto e = OpenEngine(*config);
    if (!e) return;
    auto entries = e->store->Audit();
    if (!entries.ok()) return (void)Fail(entries.status());
    Status st = VerifyChain(*entries);
    if (!st.ok()) return (void)Fail(st);
    std::printf("audit chain intact: %zu entries\n", entries->size());
  });
  auto* show = audit->add_subcommand("show", "Print audit entries as JSON lines");
  auto rid = std::make_shared<std::string>();
  show->add_option("--config", *config, "Config file")->required();
  show->add_option("--request", *rid, "Only entries of this request");
  show->add_flag("--json", *as_json);
  show->callback([config, rid] {
    auto e = OpenEngine(*config);
    if (!e) return;
    auto entries = e->store->Audit(*rid);
    if (!entries.ok()) return (void)Fail(entries.status());
    for (const auto& a : *entries) std::printf("%s\n", ToJson(a).dump().c_str());
  });
}

}  // namespace lethe::cli
