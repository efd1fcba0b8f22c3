#include "lethe/engine.h"

namespace lethe {

Result<std::unique_ptr<Engine>> Engine::Open(Config config) {
  auto e = std::make_unique<Engine>();
  auto key = config.Secret(config.audit_key_env, "/audit/pseudonym_key_env");
  if (!key.ok()) {
    const Status& st = key.status();
    return Status::Invalid((config.path.empty() ? "" : config.path + ": ") + st.ToString(), st.field());
  }
  e->pseudonym_key = *key;
  std::string chain_secret = e->pseudonym_key;
  if (!config.audit_chain_key_env.empty()) {
    auto ck = config.Secret(config.audit_chain_key_env, "/audit/chain_key_env");
    if (!ck.ok()) {
      const Status& st = ck.status();
      return Status::Invalid((config.path.empty() ? "" : config.path + ": ") + st.ToString(), st.field());
    }
    chain_secret = *ck;
  }
  e->audit_chain_key = AuditChainKey(chain_secret);
  LETHE_ASSIGN_OR_RETURN(auto store, Store::Open(config.store, config.base_dir));
  e->store = std::move(store);
  AuditChainOptions chain;
  chain.key = e->audit_chain_key;
  if (!config.audit_anchor_file.empty()) {
    e->audit_anchor = std::make_unique<AuditAnchor>(config.audit_anchor_file, e->audit_chain_key);
    chain.on_commit = [anchor = e->audit_anchor.get()](const AuditHead& h) { anchor->Note(h); };
  }
  e->store->SetAuditChain(std::move(chain));
  LETHE_ASSIGN_OR_RETURN(auto deadlines, DeadlineEngine::Create(config.deadlines));
  WorkflowPolicy policy;
  policy.default_regulation = config.default_regulation;
  policy.auto_approve = config.auto_approve;
  policy.erasure_grace = config.erasure_grace;
  policy.pseudonym_key = e->pseudonym_key;
  e->workflow = std::make_unique<Workflow>(*e->store, std::move(deadlines), std::move(policy));
  e->config = std::move(config);
  return e;
}

Result<ChainReport> Engine::CheckAudit() {
  LETHE_ASSIGN_OR_RETURN(auto entries, store->Audit());
  if (!audit_anchor) return CheckChain(entries, audit_chain_key, nullptr);
  LETHE_ASSIGN_OR_RETURN(auto heads, ReadAnchor(audit_anchor->path(), audit_chain_key));
  return CheckChain(entries, audit_chain_key, &heads);
}

}  // namespace lethe
