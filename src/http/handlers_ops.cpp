// Operations: health, Prometheus metrics, and the static web UIs.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <system_error>

#include <spdlog/spdlog.h>

#include "http/handlers_common.h"
#include "http/parse.h"

namespace lethe::http {

Result<StaticPathRequest> ParseStaticPathRequest(std::string_view tail, std::string_view target) {
  const Status not_found = Status::NotFound("no such file");
  StaticPathRequest in;
  if (!PercentDecode(tail, &in.relative, false)) return not_found;
  target = target.substr(0, target.find('?'));
  if (in.relative.empty() && (target.empty() || target.back() != '/')) {
    in.to_directory = true;
    return in;
  }
  if (in.relative.empty() || in.relative.back() == '/') in.relative += "index.html";
  if (in.relative.front() == '/' || in.relative.find('\\') != std::string::npos) return not_found;
  for (const auto& part : std::filesystem::path(in.relative)) {
    if (part == ".." || part == ".") return not_found;
  }
  return in;
}

namespace {

using bhttp::verb;
namespace fs = std::filesystem;

Reply Health(Service& s, Context&) {
  // A cheap read proves the store answers without scanning requests. The
  // route is public, so the answer is terse: the store's error text (paths,
  // table names) goes to the log only.
  Result<std::optional<Record>> r = s.store().GetRecord("health", "probe");
  if (!r.ok()) {
    spdlog::warn("healthz: store unavailable: {}", r.status().ToString());
    return Reply::Json(503, {{"status", "unavailable"}});
  }
  return Reply::Json(200, {{"status", "ok"}});
}

std::string Escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// Store gauges rendered at most once per ServiceOptions::metrics_cache_seconds:
// Store::Stats scans every request, and a scrape every few seconds (or many
// scrapers) must not turn into a scan each time.
struct StoreGaugeCache {
  std::mutex mu;
  std::chrono::steady_clock::time_point at;
  bool valid = false;
  std::string text;
};

std::string StoreGauges(Service& s, Time now);

Reply Metrics(Service& s, StoreGaugeCache& cache, Context& ctx) {
  std::string out;
  {
    std::lock_guard<std::mutex> lock(cache.mu);
    const auto t = std::chrono::steady_clock::now();
    const auto ttl = std::chrono::duration<double>(s.options().metrics_cache_seconds);
    if (!cache.valid || t - cache.at >= ttl) {
      cache.text = StoreGauges(s, ctx.now);
      cache.at = t;
      cache.valid = true;
    }
    out = cache.text;
  }
  out += s.http_latency().Render("lethe_http_request_duration_seconds", "HTTP request handling time.");
  return Reply::Text(200, "text/plain; version=0.0.4; charset=utf-8", std::move(out));
}

std::string StoreGauges(Service& s, Time now) {
  std::string out;
  Result<nlohmann::json> stats = s.store().Stats(now);
  if (!stats.ok()) spdlog::warn("metrics: store stats unavailable: {}", stats.status().ToString());
  if (stats.ok()) {
    const nlohmann::json& st = *stats;
    out += "# HELP lethe_requests Requests by status.\n# TYPE lethe_requests gauge\n";
    if (st.contains("by_status") && st["by_status"].is_object()) {
      for (const auto& [k, v] : st["by_status"].items())
        if (v.is_number())
          out += "lethe_requests{status=\"" + Escape(k) + "\"} " + std::to_string(v.get<int64_t>()) + "\n";
    }
    if (st.contains("by_type") && st["by_type"].is_object()) {
      out += "# HELP lethe_requests_by_type Requests by type.\n# TYPE lethe_requests_by_type gauge\n";
      for (const auto& [k, v] : st["by_type"].items())
        if (v.is_number())
          out += "lethe_requests_by_type{type=\"" + Escape(k) + "\"} " + std::to_string(v.get<int64_t>()) + "\n";
    }
    out += "# HELP lethe_requests_overdue Open requests past their deadline.\n# TYPE lethe_requests_overdue gauge\n";
    out += "lethe_requests_overdue " + std::to_string(st.value("overdue", int64_t{0})) + "\n";
    out +=
        "# HELP lethe_request_execution_seconds Time from start to completion or failure of executed "
        "requests.\n# TYPE lethe_request_execution_seconds summary\n";
    if (st.contains("execution") && st["execution"].is_object()) {
      for (const auto& [type, v] : st["execution"].items()) {
        const std::string label = "{type=\"" + Escape(type) + "\"} ";
        out += "lethe_request_execution_seconds_sum" + label + std::to_string(v.value("seconds", int64_t{0})) + "\n";
        out += "lethe_request_execution_seconds_count" + label + std::to_string(v.value("count", int64_t{0})) + "\n";
      }
    }
  }
  return out;
}

std::string ContentType(const fs::path& p) {
  const std::string ext = p.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

// Serves the file a static route's tail names from `root`; the resolved
// path is checked to be inside root as well (symlinks).
Reply StaticFile(const std::string& root, const std::string& mount, Context& ctx) {
  Result<StaticPathRequest> in =
      ParseStaticPathRequest(ctx.params["*"], std::string_view(ctx.req.target().data(), ctx.req.target().size()));
  if (!in.ok()) return Reply::Error(in.status());
  if (in->to_directory) {
    Reply r = Reply::Text(301, "text/plain", "moved\n");
    r.headers.emplace_back("Location", mount + "/");
    return r;
  }
  std::error_code ec;
  const fs::path base = fs::canonical(root, ec);
  if (ec) return Reply::Error(Status::NotFound("no such file"));
  const fs::path full = fs::weakly_canonical(base / in->relative, ec);
  if (ec) return Reply::Error(Status::NotFound("no such file"));
  auto [bend, fend] = std::mismatch(base.begin(), base.end(), full.begin(), full.end());
  if (bend != base.end() || !fs::is_regular_file(full, ec)) return Reply::Error(Status::NotFound("no such file"));
  Reply r;
  r.status = 200;
  r.content_type = ContentType(full);
  r.file_path = full.string();
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

// The source tree: $LETHE_SOURCE_DIR, else the parent of the binary's
// folder (build/lethe -> .), which is where `make` puts it.
std::string SourceDir() {
  if (const char* d = std::getenv("LETHE_SOURCE_DIR"); d && *d) return d;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return ".";
  return exe.parent_path().parent_path().string();
}

}  // namespace

void AddOpsRoutes(Router& r, Service& s) {
  Service* sp = &s;
  r.Add(verb::get, "/healthz", Access::kPublic, [sp](Context& c) { return Health(*sp, c); });
  // Metrics tell how many requests of each kind a company gets: operator
  // keys only (any role; Prometheus sends one as a bearer token).
  auto cache = std::make_shared<StoreGaugeCache>();
  r.Add(verb::get, "/metrics", Access::kRead, [sp, cache](Context& c) { return Metrics(*sp, *cache, c); });
  std::string inbox = s.options().static_dir.empty() ? SourceDir() + "/web/inbox" : s.options().static_dir;
  std::string examples =
      s.options().examples_dir.empty() ? SourceDir() + "/examples/settings-page" : s.options().examples_dir;
  r.Add(verb::get, "/inbox/*", Access::kPublic, [inbox](Context& c) { return StaticFile(inbox, "/inbox", c); });
  r.Add(verb::get, "/examples/settings-page/*", Access::kPublic,
        [examples](Context& c) { return StaticFile(examples, "/examples/settings-page", c); });
  r.Add(verb::get, "/", Access::kPublic, [](Context&) {
    Reply rep = Reply::Text(302, "text/plain", "see /inbox/\n");
    rep.headers.emplace_back("Location", "/inbox/");
    return rep;
  });
}

}  // namespace lethe::http
