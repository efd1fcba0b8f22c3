// The `lethe` command line: each subcommand lives in its own *_cmd.cpp and is
// added to the app by its Add* function. Commands set ExitCode(): 0 success,
// 1 operation failed, 2 usage or configuration error (contract section 1).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "lethe/status.h"

namespace lethe::cli {

int& ExitCode();
// Prints a Status as one line to stderr and sets the exit code from its code
// (kInvalid -> 2, others -> 1). Returns the exit code.
int Fail(const Status& st);

void AddDeadlineCommand(CLI::App& app);          // deadline_cmd.cpp
void AddRequestCommands(CLI::App& app);          // request_cmd.cpp: request submit|list|show|...
void AddRequestExecCommands(CLI::App& request);  // request_exec_cmd.cpp: request plan|export
void AddAuditCommands(CLI::App& app);            // audit_cmd.cpp: audit verify
void AddCheckCommand(CLI::App& app);             // check_cmd.cpp
void AddRunCommand(CLI::App& app);               // run_cmd.cpp: workers + scheduler, no HTTP
void AddServeCommand(CLI::App& app);             // serve_cmd.cpp: HTTP + workers + scheduler
void AddDemoCommand(CLI::App& app);              // demo_cmd.cpp
void AddHashKeyCommand(CLI::App& app);           // hash_key_cmd.cpp

}  // namespace lethe::cli
