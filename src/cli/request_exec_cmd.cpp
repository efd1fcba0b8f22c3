// `lethe request plan ID` (erasure dry run) and `lethe request export ID`
// (copy a finished export zip out): the request commands that need the
// executor or the export file, kept apart from the pure store commands.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "cli/context.h"
#include "lethe/exec.h"

namespace lethe::cli {
namespace {

struct Options {
  std::string config, id, out;
  bool as_json = false;
};

void RunPlan(const Options& o) {
  auto e = OpenEngine(o.config);
  if (!e) return;
  auto r = e->store->Get(o.id);
  if (!r.ok()) return (void)Fail(r.status());
  auto ex = MakeExecutor(e->config, *e->store, e->pseudonym_key);
  if (!ex.ok()) return (void)Fail(ex.status());
  auto plan = (*ex)->Plan(*r);
  if (!plan.ok()) return (void)Fail(plan.status());
  if (o.as_json) {
    std::printf("%s\n", plan->dump(2).c_str());
    return;
  }
  // Unverified identities find nothing: say so before the numbers.
  if (plan->is_object() && plan->contains("identities")) {
    const auto& ids = (*plan)["identities"];
    std::string unverified;
    for (const auto& k : ids.value("unverified", nlohmann::json::array()))
      unverified += (unverified.empty() ? "" : ", ") + k.get<std::string>();
    if (!unverified.empty()) std::printf("NOT VERIFIED (not used to find data): %s\n", unverified.c_str());
  }
  // The plan is {"collections": [...]} (see include/lethe/exec.h); accept a bare array too.
  nlohmann::json items = plan->is_object() ? plan->value("collections", nlohmann::json::array()) : *plan;
  if (!items.is_array()) items = nlohmann::json::array();
  std::printf("%-14s %-22s %-8s %8s  %s\n", "CONNECTOR", "COLLECTION", "ACTION", "ROWS", "RETENTION");
  for (const auto& it : items) {
    if (!it.is_object()) continue;
    std::string basis =
        it.contains("retention") && it["retention"].is_object() ? it["retention"].value("basis", "") : "";
    std::printf("%-14s %-22s %-8s %8lld  %s\n", it.value("connector", "").c_str(), it.value("collection", "").c_str(),
                it.value("action", "").c_str(), static_cast<long long>(it.value("rows", int64_t{0})), basis.c_str());
  }
}

void RunExport(const Options& o) {
  auto e = OpenEngine(o.config);
  if (!e) return;
  auto r = e->store->Get(o.id);
  if (!r.ok()) return (void)Fail(r.status());
  if (r->export_path.empty() || !std::filesystem::exists(r->export_path))
    return (void)Fail(
        Status::NotFound("request " + o.id + " has no export (status " + std::string(ToString(r->status)) + ")"));
  if (o.out.empty()) {
    std::printf("%s\n", r->export_path.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::copy_file(r->export_path, o.out, std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) return (void)Fail(Status::Io("cannot write " + o.out + ": " + ec.message()));
  AuditEntry a;
  a.request_id = r->id;
  a.kind = "export_copied";
  a.actor = "cli";
  a.subject_ref = e->workflow->SubjectRef(r->subject);
  (void)e->store->AppendAudit(a);
  std::printf("%s\n", o.out.c_str());
}

}  // namespace

void AddRequestExecCommands(CLI::App& req) {
  auto po = std::make_shared<Options>();
  auto* plan = req.add_subcommand("plan", "Erasure dry run: what would be deleted, masked, kept");
  plan->add_option("--config", po->config, "Config file")->required();
  plan->add_option("id", po->id, "Request id")->required();
  plan->add_flag("--json", po->as_json);
  plan->callback([po] { RunPlan(*po); });

  auto eo = std::make_shared<Options>();
  auto* ex = req.add_subcommand("export", "Print the export zip's path, or copy it with --out");
  ex->add_option("--config", eo->config, "Config file")->required();
  ex->add_option("id", eo->id, "Request id")->required();
  ex->add_option("--out", eo->out, "Copy the zip here");
  ex->callback([eo] { RunExport(*eo); });
}

}  // namespace lethe::cli
