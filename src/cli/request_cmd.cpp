// Placeholder: replaced by the real `lethe request` command.
#include "cli/commands.h"

namespace lethe::cli {

void AddRequestCommands(CLI::App& app) {
  app.add_subcommand("request", "(not implemented yet)")->callback([] {
    Fail(Status::Internal("request: not implemented yet"));
  });
}

}  // namespace lethe::cli
