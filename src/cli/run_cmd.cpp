// Placeholder: replaced by the real `lethe run` command.
#include "cli/commands.h"

namespace lethe::cli {

void AddRunCommand(CLI::App& app) {
  app.add_subcommand("run", "(not implemented yet)")->callback([] {
    Fail(Status::Internal("run: not implemented yet"));
  });
}

}  // namespace lethe::cli
