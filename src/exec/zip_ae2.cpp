#include "exec/zip_ae2.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

namespace lethe::exec {
namespace {

// Record signatures and fixed sizes from PKWARE's APPNOTE.TXT (4.3.7, 4.3.12,
// 4.3.14-16) and the WinZip AES note (method 99, vendor version 2 = AE-2).
constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50;
constexpr uint32_t kEocdSig = 0x06054b50, kZip64LocatorSig = 0x07064b50, kZip64EocdSig = 0x06064b50;
constexpr uint16_t kMethodAes = 99, kZip64Extra = 0x0001;
constexpr size_t kEocdSize = 22, kCentralSize = 46, kLocalCrcOffset = 14, kCentralCrcOffset = 16;

uint16_t Le16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
uint32_t Le32(const uint8_t* p) { return uint32_t(Le16(p)) | uint32_t(Le16(p + 2)) << 16; }
uint64_t Le64(const uint8_t* p) { return uint64_t(Le32(p)) | uint64_t(Le32(p + 4)) << 32; }

class File {
 public:
  explicit File(const std::string& path) : fd_(open(path.c_str(), O_RDWR)) {}
  ~File() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  int64_t Size() const {
    struct stat st;
    return fstat(fd_, &st) == 0 ? st.st_size : -1;
  }
  bool Read(int64_t at, size_t n, std::vector<uint8_t>* out) const {
    out->resize(n);
    return at >= 0 && pread(fd_, out->data(), n, at) == static_cast<ssize_t>(n);
  }
  bool WriteZero32(int64_t at) const {
    static const uint8_t kZero[4] = {0, 0, 0, 0};
    return pwrite(fd_, kZero, 4, at) == 4;
  }

 private:
  int fd_;
};

struct Directory {
  uint64_t offset = 0, size = 0, entries = 0;
};

Status Malformed(const std::string& what) { return Status::Internal("export: zip " + what); }

// Finds the central directory from the end-of-central-directory record (and
// its ZIP64 form when the classic fields are saturated).
Result<Directory> FindDirectory(const File& f) {
  const int64_t size = f.Size();
  if (size < static_cast<int64_t>(kEocdSize)) return Malformed("is too short");
  // The EOCD is followed by a comment of at most 64 KiB; libzip writes none,
  // but search the whole window so any valid archive works.
  const int64_t window = std::min<int64_t>(size, kEocdSize + 0xFFFF);
  std::vector<uint8_t> tail;
  if (!f.Read(size - window, window, &tail)) return Status::Io("export: cannot read zip end record");
  int64_t at = -1;
  for (int64_t i = window - kEocdSize; i >= 0; --i) {
    if (Le32(&tail[i]) == kEocdSig) {
      at = i;
      break;
    }
  }
  if (at < 0) return Malformed("has no end-of-central-directory record");
  const uint8_t* e = &tail[at];
  Directory d{Le32(e + 16), Le32(e + 12), Le16(e + 10)};
  if (d.offset != 0xFFFFFFFF && d.size != 0xFFFFFFFF && d.entries != 0xFFFF) return d;
  // ZIP64: the locator sits just before the EOCD and points at the ZIP64 EOCD.
  const int64_t eocd_pos = size - window + at;
  std::vector<uint8_t> loc, z;
  if (eocd_pos < 20 || !f.Read(eocd_pos - 20, 20, &loc) || Le32(loc.data()) != kZip64LocatorSig) {
    return Malformed("has saturated end fields and no ZIP64 locator");
  }
  if (!f.Read(static_cast<int64_t>(Le64(&loc[8])), 56, &z) || Le32(z.data()) != kZip64EocdSig) {
    return Malformed("has a bad ZIP64 end record");
  }
  return Directory{Le64(&z[48]), Le64(&z[40]), Le64(&z[32])};
}

// The local header offset of a central entry, from its ZIP64 extra field when
// the 32-bit one is saturated (fields appear only when saturated, in order).
Result<uint64_t> LocalOffset(const uint8_t* c, const uint8_t* extra, size_t extra_len) {
  uint64_t offset = Le32(c + 42);
  if (offset != 0xFFFFFFFF) return offset;
  size_t skip = (Le32(c + 24) == 0xFFFFFFFF ? 8 : 0) + (Le32(c + 20) == 0xFFFFFFFF ? 8 : 0);
  for (size_t i = 0; i + 4 <= extra_len;) {
    const uint16_t id = Le16(extra + i), len = Le16(extra + i + 2);
    if (i + 4 + len > extra_len) break;
    if (id == kZip64Extra && skip + 8 <= len) return Le64(extra + i + 4 + skip);
    i += 4 + len;
  }
  return Malformed("entry has a saturated offset and no ZIP64 field");
}

}  // namespace

Status ZeroAesCrcs(const std::string& path) {
  File f(path);
  if (!f.ok()) return Status::Io("export: cannot open the zip to finish it");
  LETHE_ASSIGN_OR_RETURN(auto dir, FindDirectory(f));
  std::vector<uint8_t> cd;
  if (dir.size > (uint64_t{1} << 31) || !f.Read(static_cast<int64_t>(dir.offset), dir.size, &cd)) {
    return Status::Io("export: cannot read the zip's central directory");
  }
  size_t pos = 0;
  for (uint64_t n = 0; n < dir.entries; ++n) {
    if (pos + kCentralSize > cd.size() || Le32(&cd[pos]) != kCentralSig) return Malformed("central entry is torn");
    const uint8_t* c = &cd[pos];
    const size_t name_len = Le16(c + 28), extra_len = Le16(c + 30), comment_len = Le16(c + 32);
    const size_t next = pos + kCentralSize + name_len + extra_len + comment_len;
    if (next > cd.size()) return Malformed("central entry runs past the directory");
    if (Le16(c + 10) == kMethodAes) {
      // A data descriptor would carry the CRC a third time after the data.
      if (Le16(c + 8) & 0x0008) return Malformed("AES member has a data descriptor");
      LETHE_ASSIGN_OR_RETURN(auto local, LocalOffset(c, c + kCentralSize + name_len, extra_len));
      std::vector<uint8_t> lh;
      if (!f.Read(static_cast<int64_t>(local), 30, &lh) || Le32(lh.data()) != kLocalSig || Le16(&lh[8]) != kMethodAes) {
        return Malformed("local header does not match its central entry");
      }
      if (!f.WriteZero32(static_cast<int64_t>(local + kLocalCrcOffset)) ||
          !f.WriteZero32(static_cast<int64_t>(dir.offset + pos + kCentralCrcOffset))) {
        return Status::Io("export: cannot write the zip's headers");
      }
    }
    pos = next;
  }
  return Status::Ok();
}

}  // namespace lethe::exec
