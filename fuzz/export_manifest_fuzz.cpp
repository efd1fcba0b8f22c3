// The export package and its manifest (src/exec/export_package.*): object
// keys from connectors (file names, S3 keys: any bytes) become zip paths
// through SafePath, and every file is listed in manifest.json.
//
// Input: a flags byte (bit 0: encrypt), then one object key a line.
//
// Properties: SafePath gives unique paths under the directory with no empty,
// ".", ".." or absolute components, no backslash or control character; the
// manifest (files()) lists each entry with its size and SHA-256 and dumps as
// JSON; the published zip holds exactly those entries, under those names,
// with those bytes.
#include <unistd.h>
#include <zip.h>

#include <filesystem>
#include <set>
#include <string>

#include "lethe/hex.h"
#include "exec/export_package.h"
#include "fuzz_check.h"

namespace {

const std::string& ScratchDir() {
  static const std::string dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string d = std::string(tmp && *tmp ? tmp : "/tmp") + "/lethe-fuzz-export-" + std::to_string(getpid());
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

void CheckSafePath(const std::string& dir, const std::string& path) {
  FUZZ_CHECK(path.rfind(dir + "/", 0) == 0, "a safe path lies under its directory");
  for (const std::string& part : lethe::fuzz::Split(path.substr(dir.size() + 1), '/', 100000)) {
    FUZZ_CHECK(!part.empty() && part != "." && part != "..", "no empty or dot components");
    for (unsigned char c : part) FUZZ_CHECK(c >= 0x20 && c != '\\', "no control characters or backslashes");
  }
}

std::string ReadEntry(zip_t* za, zip_int64_t i, bool encrypted) {
  zip_file_t* f = zip_fopen_index(za, i, 0);
  FUZZ_CHECK(f != nullptr, "every entry opens");
  std::string out;
  char buf[4096];
  zip_int64_t n;
  while ((n = zip_fread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  // AE-2 members store CRC-32 = 0 (src/exec/zip_ae2.h); libzip 1.7 still
  // checks the CRC of AE-2 members of 20 bytes or more and reports a CRC
  // error once all bytes are read. Their integrity is the AES HMAC, which
  // libzip has checked by then; the bytes are compared below.
  const bool ae2_crc = encrypted && n < 0 && zip_file_get_error(f)->zip_err == ZIP_ER_CRC;
  FUZZ_CHECK(n == 0 || ae2_crc, "every entry reads to the end");
  zip_fclose(f);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool encrypt = data[0] & 1;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<std::string> keys = lethe::fuzz::Split(in, '\n', 12);

  auto pkg = lethe::exec::ExportPackage::Create(ScratchDir(), "fuzz");
  FUZZ_CHECK(pkg.ok(), "a package can be staged");
  const std::string dir = "files/store";
  std::set<std::string> paths;
  std::vector<std::pair<std::string, std::string>> entries;  // path, bytes
  for (size_t i = 0; i < keys.size(); ++i) {
    std::string path = (*pkg)->SafePath(dir, keys[i]);
    CheckSafePath(dir, path);
    FUZZ_CHECK(paths.insert(path).second, "safe paths are unique");
    std::string bytes;
    for (size_t r = 0; r <= i; ++r) bytes += keys[i];
    FUZZ_CHECK((*pkg)->Add(path, bytes).ok(), "an entry is staged");
    entries.emplace_back(path, bytes);
  }

  const nlohmann::json& files = (*pkg)->files();
  FUZZ_CHECK(files.size() == entries.size(), "the manifest lists every entry");
  for (size_t i = 0; i < entries.size(); ++i) {
    FUZZ_CHECK(files[i]["path"] == entries[i].first, "manifest path");
    FUZZ_CHECK(files[i]["size"] == entries[i].second.size(), "manifest size");
    FUZZ_CHECK(files[i]["sha256"] == lethe::Sha256Hex(entries[i].second), "manifest digest");
  }
  std::string manifest;
  try {
    manifest = files.dump(2);  // as the executor writes manifest.json
  } catch (const std::exception& e) {
    std::fprintf(stderr, "manifest dump threw: %s\n", e.what());
    FUZZ_CHECK(false, "the manifest always dumps as JSON");
  }

  const std::string password = encrypt ? "fuzz password" : "";
  lethe::Result<std::string> zip_path = (*pkg)->Publish(password);
  FUZZ_CHECK(zip_path.ok(), "a staged package publishes");
  int err = 0;
  zip_t* za = zip_open(zip_path->c_str(), ZIP_RDONLY, &err);
  FUZZ_CHECK(za != nullptr, "the published zip opens");
  if (encrypt) zip_set_default_password(za, password.c_str());
  FUZZ_CHECK(zip_get_num_entries(za, 0) == static_cast<zip_int64_t>(entries.size()), "one zip entry per file");
  for (size_t i = 0; i < entries.size(); ++i) {
    const char* name = zip_get_name(za, i, ZIP_FL_ENC_RAW);
    FUZZ_CHECK(name != nullptr && entries[i].first == name, "zip names are the manifest's paths");
    FUZZ_CHECK(ReadEntry(za, i, encrypt) == entries[i].second, "zip bytes are the staged bytes");
    zip_stat_t st;
    FUZZ_CHECK(zip_stat_index(za, i, 0, &st) == 0, "every entry stats");
    FUZZ_CHECK(!encrypt || st.crc == 0, "AE-2 members show no plaintext CRC-32");
  }
  zip_discard(za);
  std::filesystem::remove(*zip_path);
  return 0;
}
