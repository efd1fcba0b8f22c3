// Placeholder: replaced by the real `lethe hash-key` command.
#include "cli/commands.h"

namespace lethe::cli {

void AddHashKeyCommand(CLI::App& app) {
  app.add_subcommand("hash-key", "(not implemented yet)")->callback([] {
    Fail(Status::Internal("hash-key: not implemented yet"));
  });
}

}  // namespace lethe::cli
