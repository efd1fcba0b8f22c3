// Placeholder: replaced by the real `lethe serve` command.
#include "cli/commands.h"

namespace lethe::cli {

void AddServeCommand(CLI::App& app) {
  app.add_subcommand("serve", "(not implemented yet)")->callback([] {
    Fail(Status::Internal("serve: not implemented yet"));
  });
}

}  // namespace lethe::cli
