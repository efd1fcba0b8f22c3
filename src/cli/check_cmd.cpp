// Placeholder: replaced by the real `lethe check` command.
#include "cli/commands.h"

namespace lethe::cli {

void AddCheckCommand(CLI::App& app) {
  app.add_subcommand("check", "(not implemented yet)")->callback([] {
    Fail(Status::Internal("check: not implemented yet"));
  });
}

}  // namespace lethe::cli
