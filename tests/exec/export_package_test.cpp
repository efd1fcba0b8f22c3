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
