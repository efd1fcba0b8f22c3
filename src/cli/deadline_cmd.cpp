// Placeholder: replaced by the real `lethe deadline` command.
#include "cli/commands.h"

namespace lethe::cli {

void AddDeadlineCommand(CLI::App& app) {
  app.add_subcommand("deadline", "(not implemented yet)")->callback([] {
    Fail(Status::Internal("deadline: not implemented yet"));
  });
}

}  // namespace lethe::cli
