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
  auto store = Store::Open(config.store, config.base_dir);
  if (!store.ok()) return store.status();
  e->store = std::move(*store);
  auto deadlines = DeadlineEngine::Create(config.deadlines);
  if (!deadlines.ok()) return deadlines.status();
  WorkflowPolicy policy;
  policy.default_regulation = config.default_regulation;
  policy.auto_approve = config.auto_approve;
  policy.erasure_grace = config.erasure_grace;
  policy.pseudonym_key = e->pseudonym_key;
  e->workflow = std::make_unique<Workflow>(*e->store, std::move(*deadlines), std::move(policy));
  e->config = std::move(config);
  return e;
}

}  // namespace lethe
