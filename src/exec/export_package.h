// The export package: a zip assembled from temp files so memory stays flat
// however large a collection is, and published atomically (temp name, fsync,
// rename): a reader never sees a partial zip at the final path.
#pragma once

#include <openssl/evp.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "lethe/status.h"

namespace lethe::exec {

class ExportPackage {
 public:
  // Stages entries under <exports_dir>/.staging-<request_id>-<pid>/.
  static Result<std::unique_ptr<ExportPackage>> Create(const std::string& exports_dir, const std::string& request_id);
  ~ExportPackage();  // removes the staging directory

  // Streams one entry: Begin, Write any number of times, End.
  Status Begin(const std::string& zip_path);
  Status Write(std::string_view bytes);
  Status End();
  Status Add(const std::string& zip_path, std::string_view bytes);

  // A zip path made safe from an object key: no "..", ".", empty or
  // absolute components, no control characters, backslashes or bytes that
  // are not UTF-8 (each becomes '_'), unique within the package.
  std::string SafePath(const std::string& dir, const std::string& key);

  // [{path, size, sha256}] of everything added so far.
  const nlohmann::json& files() const { return files_; }

  // Writes the zip (AES-256 per entry when password is non-empty) and renames
  // it to <exports_dir>/<request_id>.zip. Returns the final path.
  Result<std::string> Publish(const std::string& password);

 private:
  ExportPackage() = default;
  struct Entry {
    std::string zip_path;
    std::string file;
  };
  std::string exports_dir_, request_id_, staging_;
  std::vector<Entry> entries_;
  std::set<std::string> names_;  // reserved by SafePath or written
  std::set<std::string> written_;
  nlohmann::json files_ = nlohmann::json::array();
  // The entry being written.
  FILE* out_ = nullptr;
  EVP_MD_CTX* sha_ = nullptr;
  int64_t size_ = 0;
  std::string current_;
};

}  // namespace lethe::exec
