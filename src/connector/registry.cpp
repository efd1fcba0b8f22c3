// The connector type registry. Connector folders register themselves at
// static-initialization time (LETHE_REGISTER_CONNECTOR), possibly before any
// other global in this file is constructed, so the map lives in a
// function-local static: it is built on first use, whatever the init order.
#include <map>
#include <mutex>

#include "lethe/connector.h"

namespace lethe {
namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, ConnectorFactory> factories;
};

Registry& GetRegistry() {
  static Registry* registry = new Registry();  // never destroyed: used until exit
  return *registry;
}

}  // namespace

void RegisterConnectorType(const std::string& type, ConnectorFactory factory) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.factories[type] = std::move(factory);
}

const ConnectorFactory* FindConnectorType(const std::string& type) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.factories.find(type);
  // std::map nodes are stable, so the pointer stays valid after the lock.
  return it == r.factories.end() ? nullptr : &it->second;
}

std::vector<std::string> ConnectorTypes() {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string> types;
  for (const auto& [type, factory] : r.factories) types.push_back(type);
  return types;
}

}  // namespace lethe
