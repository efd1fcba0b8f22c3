// The export package on its own: safe entry names, checksums, atomic publish.
#include <zip.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "exec/export_package.h"
#include "exec/util.h"

namespace fs = std::filesystem;
using lethe::exec::ExportPackage;

TEST_CASE("export package: object keys cannot escape, names stay unique, publish is atomic") {
  char tmpl[] = "/tmp/lethe-pkg-test-XXXXXX";
  fs::path dir = mkdtemp(tmpl);
  {
    auto pkg = ExportPackage::Create((dir / "exports").string(), "req-1");
    REQUIRE(pkg.ok());
    ExportPackage& p = **pkg;
    CHECK(p.SafePath("files/c", "../../etc/passwd") == "files/c/_/_/etc/passwd");
    CHECK(p.SafePath("files/c", "/abs/./x") == "files/c/abs/_/x");
    CHECK(p.SafePath("files/c", "a//b") == "files/c/a/b");
    CHECK(p.SafePath("files/c", "") == "files/c/_");
    std::string first = p.SafePath("files/c", "same.txt");
    std::string second = p.SafePath("files/c", "same.txt");
    CHECK(first == "files/c/same.txt");
    CHECK(second != first);
    REQUIRE(p.Add(first, "one").ok());
    REQUIRE(p.Add(second, "two").ok());
    CHECK_FALSE(p.Add(first, "again").ok());
    REQUIRE(p.Begin("data/big.json").ok());
    std::string chunk(1 << 16, 'x');
    for (int i = 0; i < 64; ++i) REQUIRE(p.Write(chunk).ok());  // 4 MiB, streamed
    REQUIRE(p.End().ok());
    CHECK(p.files().size() == 3);
    CHECK(p.files()[0]["sha256"] == lethe::exec::Sha256Hex("one"));
    CHECK(p.files()[2]["size"] == (1 << 16) * 64);
    CHECK_FALSE(fs::exists(dir / "exports/req-1.zip"));  // nothing at the final path before Publish
    auto path = p.Publish("");
    REQUIRE(path.ok());
    CHECK(*path == (dir / "exports/req-1.zip").string());
  }
  // The staging directory is gone; only the zip remains.
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir / "exports")) left.push_back(e.path().filename().string());
  CHECK(left == std::vector<std::string>{"req-1.zip"});
  int err = 0;
  zip_t* za = zip_open((dir / "exports/req-1.zip").c_str(), ZIP_RDONLY, &err);
  REQUIRE(za != nullptr);
  CHECK(zip_get_num_entries(za, 0) == 3);
  CHECK(zip_name_locate(za, "files/c/same.txt", 0) >= 0);
  zip_close(za);

  // A request id is a file name: anything but a plain token is refused.
  CHECK_FALSE(ExportPackage::Create((dir / "exports").string(), "../x").ok());
  CHECK_FALSE(ExportPackage::Create((dir / "exports").string(), "").ok());
  fs::remove_all(dir);
}

// Found by fuzz/export_manifest_fuzz (regression
// fuzz/regressions/export_manifest/latin1_key): a file named in Latin-1 (or any
// key that is not UTF-8) became a zip path as it was, so manifest.json could
// not be written (nlohmann's dump throws on invalid UTF-8) and the export failed.
TEST_CASE("export package: keys that are not UTF-8 become '_' so the manifest and the zip stay UTF-8") {
  char tmpl[] = "/tmp/lethe-pkg-test-XXXXXX";
  fs::path dir = mkdtemp(tmpl);
  {
    auto pkg = ExportPackage::Create((dir / "exports").string(), "req-utf8");
    REQUIRE(pkg.ok());
    ExportPackage& p = **pkg;
    CHECK(p.SafePath("files/c", "caf\xe9.txt") == "files/c/caf_.txt");                // Latin-1 é
    CHECK(p.SafePath("files/c", "caf\xc3\xa9.txt") == "files/c/caf\xc3\xa9.txt");     // UTF-8 é kept
    CHECK(p.SafePath("files/c", "\xe2\x82\xac/x\xc3") == "files/c/\xe2\x82\xac/x_");  // € kept, cut-off é
    CHECK(p.SafePath("files/c", "\xc0\xaf.txt") == "files/c/__.txt");                 // overlong '/'
    CHECK(p.SafePath("files/c", "\xed\xa0\x80") == "files/c/___");                    // a surrogate
    CHECK(p.SafePath("files/c", "\xf4\x90\x80\x80") == "files/c/____");               // above U+10FFFF
    CHECK(p.SafePath("files/c", "\xf0\x9f\x98\x80") == "files/c/\xf0\x9f\x98\x80");   // an emoji kept
    std::string latin1 = p.SafePath("files/d", "na\xefve.txt");
    REQUIRE(p.Add(latin1, "bytes").ok());
    CHECK_NOTHROW(p.files().dump(2));  // as the executor writes manifest.json
    REQUIRE(p.Publish("").ok());
  }
  int err = 0;
  zip_t* za = zip_open((dir / "exports/req-utf8.zip").c_str(), ZIP_RDONLY, &err);
  REQUIRE(za != nullptr);
  CHECK(zip_name_locate(za, "files/d/na_ve.txt", 0) >= 0);
  zip_close(za);
  fs::remove_all(dir);
}
