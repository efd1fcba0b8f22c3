#include "exec/export_package.h"

#include "exec/zip_ae2.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace lethe::exec {
namespace fs = std::filesystem;
namespace {

// Formats that are already compressed: deflating them again only costs time.
bool AlreadyCompressed(const std::string& path) {
  static const std::set<std::string> kExt = {"png", "jpg", "jpeg", "gif",  "webp", "pdf",  "zip",  "gz",  "tgz",
                                             "bz2", "xz",  "zst",  "7z",   "rar",  "mp4",  "mov",  "mkv", "webm",
                                             "mp3", "m4a", "ogg",  "heic", "avif", "docx", "xlsx", "pptx"};
  size_t dot = path.rfind('.');
  if (dot == std::string::npos || path.find('/', dot) != std::string::npos) return false;
  std::string ext = path.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return kExt.count(ext) > 0;
}

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), or 0 if there is none.
size_t Utf8SequenceAt(const std::string& s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  const unsigned char c1 = byte(i + 1);
  if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 > 0x9f) || (c == 0xf0 && c1 < 0x90) || (c == 0xf4 && c1 > 0x8f))
    return 0;
  return n;
}

Status FsyncPath(const std::string& path, bool directory) {
  int fd = open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return Status::Io("export: cannot open " + path + " to sync");
  int rc = fsync(fd);
  close(fd);
  return rc == 0 ? Status::Ok() : Status::Io("export: fsync failed for " + path);
}

}  // namespace

Result<std::unique_ptr<ExportPackage>> ExportPackage::Create(const std::string& exports_dir,
                                                             const std::string& request_id) {
  // The request id becomes a file name: it must be a plain token.
  if (request_id.empty() || request_id.size() > 128 ||
      !std::all_of(request_id.begin(), request_id.end(),
                   [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; })) {
    return Status::Invalid("export: request id is not a safe file name");
  }
  std::error_code ec;
  fs::create_directories(exports_dir, ec);
  if (ec) return Status::Io("export: cannot create " + exports_dir + ": " + ec.message());
  auto p = std::unique_ptr<ExportPackage>(new ExportPackage());
  p->exports_dir_ = exports_dir;
  p->request_id_ = request_id;
  // Leftovers of an export that died half-way (another pid) are removed.
  for (const auto& e : fs::directory_iterator(exports_dir, ec)) {
    std::string n = e.path().filename().string();
    // "<prefix><pid>", or "<prefix><pid>.<suffix>" (libzip writes the archive
    // to a temp file of its own beside ours and renames it at zip_close):
    // request "r" must not touch request "r-2"'s files.
    auto ours = [&](const std::string& prefix) {
      if (n.size() <= prefix.size() || n.rfind(prefix, 0) != 0) return false;
      size_t i = prefix.size();
      size_t digits = 0;
      while (i < n.size() && std::isdigit(static_cast<unsigned char>(n[i]))) ++i, ++digits;
      return digits > 0 && (i == n.size() || n[i] == '.');
    };
    if (ours(".staging-" + request_id + "-") || ours(request_id + ".zip.tmp-")) {
      std::error_code ignored;
      fs::remove_all(e.path(), ignored);
    }
  }
  ec.clear();
  p->staging_ = (fs::path(exports_dir) / (".staging-" + request_id + "-" + std::to_string(getpid()))).string();
  fs::remove_all(p->staging_, ec);
  fs::create_directories(p->staging_, ec);
  if (ec) return Status::Io("export: cannot create staging directory: " + ec.message());
  fs::permissions(p->staging_, fs::perms::owner_all, ec);
  return p;
}

ExportPackage::~ExportPackage() {
  if (out_) fclose(out_);
  if (sha_) EVP_MD_CTX_free(sha_);
  std::error_code ec;
  if (!staging_.empty()) fs::remove_all(staging_, ec);
}

std::string ExportPackage::SafePath(const std::string& dir, const std::string& key) {
  std::string out = dir;
  size_t start = 0;
  while (start <= key.size()) {
    size_t slash = key.find('/', start);
    std::string part = key.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    // Entry names are flagged UTF-8 in the zip and listed in manifest.json:
    // a byte that is not part of a UTF-8 character (a Latin-1 file name)
    // becomes '_', like a control character or a backslash.
    for (size_t i = 0; i < part.size();) {
      const size_t n = Utf8SequenceAt(part, i);
      if (n == 0 || part[i] == '\\' || static_cast<unsigned char>(part[i]) < 0x20) {
        part[i++] = '_';
      } else {
        i += n;
      }
    }
    if (part == "." || part == "..") part = "_";
    if (!part.empty()) out += "/" + part;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (out == dir) out += "/_";
  std::string unique = out;
  for (int n = 2; names_.count(unique); ++n) unique = out + "~" + std::to_string(n);
  names_.insert(unique);  // reserved now: the entry may be written much later
  return unique;
}

Status ExportPackage::Begin(const std::string& zip_path) {
  if (out_) return Status::Internal("export: Begin inside an open entry");
  names_.insert(zip_path);
  if (!written_.insert(zip_path).second) return Status::Internal("export: duplicate entry " + zip_path);
  std::string file = (fs::path(staging_) / std::to_string(entries_.size())).string();
  out_ = fopen(file.c_str(), "wb");
  if (!out_) return Status::Io("export: cannot write " + file);
  sha_ = EVP_MD_CTX_new();
  EVP_DigestInit_ex(sha_, EVP_sha256(), nullptr);
  size_ = 0;
  current_ = zip_path;
  entries_.push_back({zip_path, file});
  return Status::Ok();
}

Status ExportPackage::Write(std::string_view bytes) {
  if (!out_) return Status::Internal("export: Write outside an entry");
  if (bytes.empty()) return Status::Ok();
  if (fwrite(bytes.data(), 1, bytes.size(), out_) != bytes.size())
    return Status::Io("export: write failed (disk full?)");
  EVP_DigestUpdate(sha_, bytes.data(), bytes.size());
  size_ += static_cast<int64_t>(bytes.size());
  return Status::Ok();
}

Status ExportPackage::End() {
  if (!out_) return Status::Internal("export: End outside an entry");
  bool ok = fclose(out_) == 0;
  out_ = nullptr;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(sha_, md, &len);
  EVP_MD_CTX_free(sha_);
  sha_ = nullptr;
  if (!ok) return Status::Io("export: write failed for " + current_);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[md[i] >> 4]);
    hex.push_back(kHex[md[i] & 15]);
  }
  files_.push_back({{"path", current_}, {"size", size_}, {"sha256", hex}});
  return Status::Ok();
}

Status ExportPackage::Add(const std::string& zip_path, std::string_view bytes) {
  LETHE_RETURN_IF_ERROR(Begin(zip_path));
  LETHE_RETURN_IF_ERROR(Write(bytes));
  return End();
}

Result<std::string> ExportPackage::Publish(const std::string& password) {
  if (out_) return Status::Internal("export: Publish inside an open entry");
  const std::string final_path = (fs::path(exports_dir_) / (request_id_ + ".zip")).string();
  const std::string tmp_path = final_path + ".tmp-" + std::to_string(getpid());
  std::error_code ec;
  fs::remove(tmp_path, ec);
  int err = 0;
  zip_t* za = zip_open(tmp_path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  if (!za) return Status::Io("export: cannot create " + tmp_path);
  auto fail = [&](const std::string& what) -> Status {
    std::string msg = "export: " + what + ": " + zip_strerror(za);
    zip_discard(za);
    fs::remove(tmp_path, ec);
    return Status::Io(msg);
  };
  for (const auto& e : entries_) {
    zip_source_t* src = zip_source_file(za, e.file.c_str(), 0, -1);
    if (!src) return fail("cannot read staged " + e.zip_path);
    zip_int64_t idx = zip_file_add(za, e.zip_path.c_str(), src, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
      zip_source_free(src);
      return fail("cannot add " + e.zip_path);
    }
    if (AlreadyCompressed(e.zip_path) && zip_set_file_compression(za, idx, ZIP_CM_STORE, 0) < 0) {
      return fail("cannot set compression for " + e.zip_path);
    }
    if (!password.empty() && zip_file_set_encryption(za, idx, ZIP_EM_AES_256, password.c_str()) < 0) {
      return fail("cannot encrypt " + e.zip_path);
    }
  }
  // zip_close reads the staged files and writes the archive.
  if (zip_close(za) < 0) return fail("cannot write " + tmp_path);
  if (!password.empty()) {
    // AE-2 proper: no plaintext CRC-32 in the headers (see zip_ae2.h).
    Status st = ZeroAesCrcs(tmp_path);
    if (!st.ok()) {
      fs::remove(tmp_path, ec);
      return st;
    }
  }
  chmod(tmp_path.c_str(), 0600);
  LETHE_RETURN_IF_ERROR(FsyncPath(tmp_path, false));
  fs::rename(tmp_path, final_path, ec);
  if (ec) {
    fs::remove(tmp_path, ec);
    return Status::Io("export: cannot publish " + final_path);
  }
  LETHE_RETURN_IF_ERROR(FsyncPath(exports_dir_, true));
  return final_path;
}

}  // namespace lethe::exec
