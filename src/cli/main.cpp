#include <cstdio>
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"

namespace lethe::cli {

int& ExitCode() {
  static int code = 0;
  return code;
}

int Fail(const Status& st) {
  std::fprintf(stderr, "lethe: %s\n", st.ToString().c_str());
  ExitCode() = st.code() == Code::kInvalid ? 2 : 1;
  return ExitCode();
}

}  // namespace lethe::cli

int main(int argc, char** argv) {
  using namespace lethe::cli;
  // Logs go to stderr so that --json output on stdout stays machine-readable.
  spdlog::set_default_logger(spdlog::stderr_color_mt("lethe"));
  spdlog::set_level(spdlog::level::warn);
  CLI::App app{"Lethe: data-subject-rights request engine"};
  app.require_subcommand(1);
  AddServeCommand(app);
  AddDemoCommand(app);
  AddRunCommand(app);
  AddCheckCommand(app);
  AddAuditCommands(app);
  AddRequestCommands(app);
  AddDeadlineCommand(app);
  AddHashKeyCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;  // usage errors exit 2 per the contract
  }
  return ExitCode();
}
