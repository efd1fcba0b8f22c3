// `lethe audit verify|show|anchor --config FILE`.
// verify checks the keyed hash chain and, with audit.anchor_file, the signed
// heads: it names the first bad entry and exits 1 when the log was edited,
// re-chained or truncated. It only reads the store and the anchor file.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/context.h"

namespace lethe::cli {
namespace {

void Verify(const std::string& config) {
  auto e = OpenEngine(config);
  if (!e) return;
  Result<ChainReport> r = e->CheckAudit();
  if (!r.ok()) return (void)Fail(r.status());
  std::printf("audit chain intact: %lld entries\n", static_cast<long long>(r->entries));
  if (r->unkeyed_through > 0)
    std::printf("entries 1-%lld were written before the chain was keyed (plain SHA-256)%s\n",
                static_cast<long long>(r->unkeyed_through),
                r->last_head && r->last_head->seq > r->unkeyed_through
                    ? "; the signed heads after them cover them"
                    : "; nothing signed covers them yet: whoever can write the store could rewrite them");
  if (!e->audit_anchor) {
    std::fprintf(stderr,
                 "lethe: warning: no audit.anchor_file configured: deleting the newest entries is not "
                 "detected\n");
    return;
  }
  if (r->last_head) {
    std::printf("anchor %s: %lld signed heads, the last one at entry %lld (%s)\n", e->audit_anchor->path().c_str(),
                static_cast<long long>(r->heads), static_cast<long long>(r->last_head->seq),
                FormatRfc3339(r->last_head->at).c_str());
    if (r->entries > r->last_head->seq)
      std::printf("entries %lld-%lld are newer than the last signed head (keyed; their deletion is not detected)\n",
                  static_cast<long long>(r->last_head->seq + 1), static_cast<long long>(r->entries));
  }
}

// Signs the log as it stands: for a store that predates audit.anchor_file.
// Refuses a log that does not verify against what is already anchored.
void Anchor(const std::string& config) {
  auto e = OpenEngine(config);
  if (!e) return;
  if (!e->audit_anchor) return (void)Fail(Status::Invalid(config + ": /audit/anchor_file: not set", "/audit"));
  auto entries = e->store->Audit();
  if (!entries.ok()) return (void)Fail(entries.status());
  auto heads = ReadAnchor(e->audit_anchor->path(), e->audit_chain_key);
  if (!heads.ok()) return (void)Fail(heads.status());
  Result<ChainReport> r = CheckChain(*entries, e->audit_chain_key, heads->empty() ? nullptr : &*heads);
  if (!r.ok()) return (void)Fail(r.status());
  if (entries->empty()) return (void)std::printf("audit log is empty: nothing to anchor\n");
  AuditHead head;
  head.seq = entries->back().seq;
  head.hash = entries->back().hash;
  // Keying begins after the unkeyed prefix (at 1 when there is none); with
  // heads already written, the anchor carries on what they said.
  if (r->unkeyed_through > 0)
    head.keyed_from = r->unkeyed_through + 1;
  else if (heads->empty())
    head.keyed_from = 1;
  Status st = e->audit_anchor->Append(head);
  if (!st.ok()) return (void)Fail(st);
  std::printf("anchored entry %lld in %s\n", static_cast<long long>(head.seq), e->audit_anchor->path().c_str());
}

}  // namespace

void AddAuditCommands(CLI::App& app) {
  auto* audit = app.add_subcommand("audit", "The tamper-evident audit log");
  audit->require_subcommand(1);
  auto config = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  auto* verify = audit->add_subcommand("verify", "Verify the keyed audit chain against the anchor file");
  verify->add_option("--config", *config, "Config file")->required();
  verify->callback([config] { Verify(*config); });
  auto* anchor = audit->add_subcommand("anchor", "Append a signed head for the log as it stands");
  anchor->add_option("--config", *config, "Config file")->required();
  anchor->callback([config] { Anchor(*config); });
  auto* show = audit->add_subcommand("show", "Print audit entries as JSON lines");
  auto rid = std::make_shared<std::string>();
  show->add_option("--config", *config, "Config file")->required();
  show->add_option("--request", *rid, "Only entries of this request");
  // Entries are always JSON lines; --json is accepted. CLI11 writes the flag
  // through a reference when the command line is parsed, after this function
  // returns, so the callback must own as_json (it once died here, and every
  // `audit show --json` wrote to freed memory).
  show->add_flag("--json", *as_json);
  show->callback([config, rid, as_json] {
    auto e = OpenEngine(*config);
    if (!e) return;
    auto entries = e->store->Audit(*rid);
    if (!entries.ok()) return (void)Fail(entries.status());
    for (const auto& a : *entries) std::printf("%s\n", ToJson(a).dump().c_str());
  });
}

}  // namespace lethe::cli
