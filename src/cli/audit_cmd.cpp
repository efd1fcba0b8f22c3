// Placeholder: replaced by the real `lethe audit` command.
#include "cli/commands.h"

namespace lethe::cli {

void AddAuditCommands(CLI::App& app) {
  app.add_subcommand("audit", "(not implemented yet)")->callback([] {
    Fail(Status::Internal("audit: not implemented yet"));
  });
}

}  // namespace lethe::cli
