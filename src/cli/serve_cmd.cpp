// `lethe serve --config FILE`: the HTTP API, the workers and the scheduler
// in one process, until SIGTERM/SIGINT (then exit 0).
#include "cli/commands.h"
#include "lethe/config.h"

#ifdef HAVE_LETHE_HTTP
#include "http/server.h"
#endif

namespace lethe::cli {

void AddServeCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "HTTP API + scheduler + workers");
  auto config_path = std::make_shared<std::string>();
  auto listen = std::make_shared<std::string>();
  auto no_workers = std::make_shared<bool>(false);
  cmd->add_option("--config", *config_path, "config file")->required();
  cmd->add_option("--listen", *listen, "host:port (overrides the config's listen)");
  cmd->add_flag("--no-workers", *no_workers, "serve the API only; run no workers or scheduler");
  cmd->callback([config_path, listen, no_workers] {
    Result<Config> config = LoadConfig(*config_path);
    if (!config.ok()) {
      // The message already names the file and pointer; config errors exit 2.
      Fail(Status::Invalid(config.status().message()));
      return;
    }
    if (!config->jwt_secret_env.empty()) {
      Result<std::string> secret = config->JwtSecret();
      if (!secret.ok()) return (void)Fail(Status::Invalid(*config_path + ": " + secret.status().ToString()));
    }
#ifdef HAVE_LETHE_HTTP
    http::ServeOptions opts;
    opts.listen = *listen;
    opts.workers = !*no_workers;
    opts.on_listening = [](unsigned short port) { std::fprintf(stderr, "lethe: listening on port %u\n", port); };
    Status st = http::ServeConfig(*config, std::move(opts));
    if (!st.ok()) Fail(st);
#else
    Fail(Status::Internal("serve: built without the HTTP service"));
#endif
  });
}

}  // namespace lethe::cli
