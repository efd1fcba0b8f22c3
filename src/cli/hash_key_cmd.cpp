// `lethe hash-key KEY`: the sha256 hex of an operator key, for config's key_sha256.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "lethe/hex.h"

namespace lethe::cli {

void AddHashKeyCommand(CLI::App& app) {
  auto key = std::make_shared<std::string>();
  auto* sub = app.add_subcommand("hash-key", "Print the sha256 hex of an operator key, to put in config");
  sub->add_option("key", *key, "The operator key")->required();
  sub->callback([key] { std::printf("%s\n", Sha256Hex(*key).c_str()); });
}

}  // namespace lethe::cli
