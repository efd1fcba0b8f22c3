// Helpers for core tests: a fresh store in a temp dir.
#pragma once

#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "lethe/store.h"

namespace lethe::testing {

// A temp directory removed when the object dies.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() / ("lethe-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string str() const { return path.string(); }
};

inline std::unique_ptr<Store> OpenTestStore(const TempDir& dir) {
  auto s = Store::Open({{"sqlite", "lethe.db"}}, dir.str());
  if (!s.ok()) throw std::runtime_error(s.status().ToString());
  return std::move(*s);
}

}  // namespace lethe::testing
