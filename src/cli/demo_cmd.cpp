// Placeholder: replaced by the real `lethe demo` command.
#include "cli/commands.h"

namespace lethe::cli {

void AddDemoCommand(CLI::App& app) {
  app.add_subcommand("demo", "(not implemented yet)")->callback([] {
    Fail(Status::Internal("demo: not implemented yet"));
  });
}

}  // namespace lethe::cli
