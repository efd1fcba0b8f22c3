// `lethe deadline`: compute one legal deadline without a config or a store.
// Useful to check the engine against a lawyer's calendar, and in scripts.
#include <iostream>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "lethe/deadline.h"
#include "lethe/request.h"
#include "lethe/time.h"

namespace lethe::cli {

namespace {

struct DeadlineArgs {
  std::string regulation;
  std::string received;
  std::string tz = "UTC";
  std::string holidays_file;
  bool extended = false;
  std::optional<int> sla_days;
  int sla_extension_days = 0;
  bool sla_business_days = false;
};

// The name the CLI uses for the ad-hoc SLA built from --sla-days.
constexpr const char* kCliSla = "cli";

Status Run(const DeadlineArgs& a) {
  std::optional<Regulation> reg = ParseRegulation(a.regulation);
  if (!reg) {
    return Status::Invalid(
        "unknown regulation \"" + a.regulation + "\" (want gdpr, uk_gdpr, ccpa, lgpd, us_state or custom)",
        "--regulation");
  }
  auto received = ParseRfc3339(a.received);
  if (!received.ok()) return Status::Invalid(received.status().message(), "--received");

  DeadlineRules rules;
  rules.timezone = a.tz;
  if (!a.holidays_file.empty()) {
    LETHE_ASSIGN_OR_RETURN(auto holidays, LoadHolidays(a.holidays_file));
    rules.holidays = std::move(holidays);
  }
  if (*reg == Regulation::kCustom) {
    if (!a.sla_days) return Status::Invalid("--regulation custom needs --sla-days N", "--sla-days");
    CustomSla sla;
    sla.name = kCliSla;
    sla.days = *a.sla_days;
    sla.extension_days = a.sla_extension_days;
    sla.business_days = a.sla_business_days;
    rules.custom.push_back(sla);
  } else if (a.sla_days) {
    return Status::Invalid("only applies to --regulation custom", "--sla-days");
  }

  auto engine = DeadlineEngine::Create(rules);
  if (!engine.ok()) {
    // Name the command-line option rather than the config pointer.
    const Status& st = engine.status();
    if (st.field() == "/timezone") return Status::Invalid(st.message(), "--tz");
    if (st.field().rfind("/slas/", 0) == 0) return Status::Invalid(st.message(), "--sla-days");
    return st;
  }
  std::string sla_name = *reg == Regulation::kCustom ? kCliSla : "";
  auto due = a.extended ? engine->Extended(*reg, *received, sla_name) : engine->Due(*reg, *received, sla_name);
  if (!due.ok()) {
    // "lgpd allows no extension" is a usage error here, not a failed operation.
    return Status::Invalid(due.status().message(), a.extended ? "--extended" : "");
  }

  // ordered_json keeps the documented key order, which reads better.
  nlohmann::ordered_json out;
  out["regulation"] = std::string(ToString(*reg));
  out["received_at"] = FormatRfc3339(*received);
  out["due_date"] = due->due_date;
  out["due_at"] = FormatRfc3339(due->due_at);
  if (a.extended) out["extended"] = true;
  if (*reg == Regulation::kCcpa) {
    auto ack = engine->AcknowledgeBy(*reg, *received);
    if (ack.ok()) out["acknowledge_by"] = ack->due_date;
  }
  std::cout << out.dump() << "\n";
  return Status::Ok();
}

}  // namespace

void AddDeadlineCommand(CLI::App& app) {
  auto args = std::make_shared<DeadlineArgs>();
  CLI::App* cmd = app.add_subcommand("deadline", "Compute the legal deadline for a request received at a given time");
  cmd->add_option("--regulation", args->regulation, "gdpr, uk_gdpr, ccpa, lgpd, us_state or custom")->required();
  cmd->add_option("--received", args->received, "When the request was received (RFC 3339)")->required();
  cmd->add_option("--tz", args->tz, "IANA time zone of the controller (default UTC)");
  cmd->add_option("--holidays", args->holidays_file, "File with one YYYY-MM-DD holiday a line ('#' comments)");
  cmd->add_flag("--extended", args->extended, "Print the extended deadline instead");
  cmd->add_option("--sla-days", args->sla_days, "custom: days in the SLA");
  cmd->add_option("--sla-extension-days", args->sla_extension_days, "custom: days an extension adds");
  cmd->add_flag("--business-days", args->sla_business_days, "custom: count working days, not calendar days");
  cmd->callback([args] {
    Status st = Run(*args);
    if (!st.ok()) Fail(st);
  });
}

}  // namespace lethe::cli
