#include "lethe/audit.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "lethe/hex.h"

namespace lethe {
namespace {

using nlohmann::json;

std::string HeadMac(const std::string& key, int64_t seq, const std::string& hash, const std::string& at,
                    int64_t keyed_from) {
  // A fixed label and one field a line: nothing a chain hash could collide with.
  return HmacSha256Hex(
      key, "lethe-audit-head\n" + std::to_string(seq) + "\n" + hash + "\n" + at + "\n" + std::to_string(keyed_from));
}

bool SameHex(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Parses one anchor line; nullopt when it is not a well-formed, authentic head.
std::optional<AuditHead> ParseHead(const std::string& line, const std::string& key) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  const auto seq = j.find("seq"), hash = j.find("hash"), at = j.find("at"), kf = j.find("keyed_from"),
             mac = j.find("mac");
  if (seq == j.end() || !seq->is_number_integer() || hash == j.end() || !hash->is_string() || at == j.end() ||
      !at->is_string() || kf == j.end() || !kf->is_number_integer() || mac == j.end() || !mac->is_string())
    return std::nullopt;
  AuditHead h;
  h.seq = seq->get<int64_t>();
  h.hash = hash->get<std::string>();
  h.keyed_from = kf->get<int64_t>();
  auto t = ParseRfc3339(at->get<std::string>());
  if (!t.ok()) return std::nullopt;
  h.at = *t;
  if (!SameHex(HeadMac(key, h.seq, h.hash, at->get<std::string>(), h.keyed_from), mac->get<std::string>()))
    return std::nullopt;
  return h;
}

// The last complete line of the anchor file, read from its tail only (the file
// grows by a line a second under load; the writer must not read all of it).
std::string LastAnchorLine(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  const std::streamoff size = in.tellg();
  const std::streamoff take = std::min<std::streamoff>(size, 4096);
  std::string tail(static_cast<size_t>(take), '\0');
  in.seekg(size - take);
  in.read(tail.data(), take);
  if (tail.empty() || tail.back() != '\n') return "";  // torn or empty
  tail.pop_back();
  size_t nl = tail.rfind('\n');
  return nl == std::string::npos ? (take == size ? tail : "") : tail.substr(nl + 1);
}

Status WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::Io(std::string("write: ") + std::strerror(errno));
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

std::string Pseudonym(const std::string& key, const std::string& kind, const std::string& value) {
  // Normalize so the same person always maps to the same pseudonym: emails are
  // case-insensitive in practice and often carry stray spaces.
  std::string v = value;
  v.erase(0, v.find_first_not_of(" \t\r\n"));
  v.erase(v.find_last_not_of(" \t\r\n") + 1);
  if (kind == "email") std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  return HmacSha256Hex(key, kind + ":" + v);
}

std::string AuditChainKey(const std::string& secret) { return HmacSha256Hex(secret, "lethe audit chain key v1"); }

json ToJson(const AuditEntry& e) {
  return {{"seq", e.seq},       {"at", FormatRfc3339(e.at)}, {"request_id", e.request_id},
          {"kind", e.kind},     {"actor", e.actor},          {"subject_ref", e.subject_ref},
          {"detail", e.detail}, {"prev_hash", e.prev_hash},  {"hash", e.hash}};
}

std::string ChainHash(const std::string& chain_key, const std::string& prev_hash, const AuditEntry& e) {
  // The hash commits to the position (seq), the predecessor, and every field;
  // nlohmann's dump() sorts object keys, so the encoding is canonical.
  json body = ToJson(e);
  body.erase("hash");
  body["prev_hash"] = prev_hash;
  return chain_key.empty() ? Sha256Hex(body.dump()) : HmacSha256Hex(chain_key, body.dump());
}

std::string SignedHeadLine(const std::string& key, const AuditHead& h) {
  const std::string at = FormatRfc3339(h.at);
  json j = {{"seq", h.seq},
            {"hash", h.hash},
            {"at", at},
            {"keyed_from", h.keyed_from},
            {"mac", HeadMac(key, h.seq, h.hash, at, h.keyed_from)}};
  return j.dump();
}

Result<std::vector<AuditHead>> ReadAnchor(const std::string& path, const std::string& key) {
  std::vector<AuditHead> heads;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return heads;
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Io("audit anchor " + path + ": cannot read the file");
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  size_t pos = 0;
  int64_t line_no = 0;
  while (pos < text.size()) {
    ++line_no;
    size_t nl = text.find('\n', pos);
    const bool complete = nl != std::string::npos;
    std::string line = text.substr(pos, complete ? nl - pos : std::string::npos);
    pos = complete ? nl + 1 : text.size();
    if (line.empty()) continue;
    std::optional<AuditHead> h = ParseHead(line, key);
    if (!h) {
      if (!complete) break;  // a write torn by a crash: the line never finished
      return Status::Conflict("audit anchor " + path + " line " + std::to_string(line_no) +
                              ": not a head signed with the chain key (edited, or a different key)");
    }
    heads.push_back(*h);
  }
  return heads;
}

Result<ChainReport> CheckChain(const std::vector<AuditEntry>& entries, const std::string& key,
                               const std::vector<AuditHead>* heads) {
  ChainReport rep;
  rep.entries = static_cast<int64_t>(entries.size());
  // The first writer that knew where keying began said so in its heads.
  int64_t keyed_from = 0;
  if (heads) {
    for (const AuditHead& h : *heads) {
      if (keyed_from == 0 && h.keyed_from > 0) keyed_from = h.keyed_from;
      if (!rep.last_head || h.seq > rep.last_head->seq) rep.last_head = h;
    }
    rep.heads = static_cast<int64_t>(heads->size());
  }

  // The first bad entry wins, whichever check finds it.
  std::optional<std::pair<int64_t, std::string>> bad;
  auto flag = [&](int64_t seq, std::string why) {
    if (!bad || seq < bad->first) bad.emplace(seq, std::move(why));
  };

  std::string prev;
  int64_t expect_seq = 1;
  bool keyed_seen = false;
  for (const AuditEntry& e : entries) {
    if (e.seq != expect_seq) {
      flag(e.seq, "expected entry " + std::to_string(expect_seq) + " (deleted or reordered)");
      break;
    }
    if (e.prev_hash != prev) {
      flag(e.seq, "does not follow the entry before it (deleted or reordered)");
      break;
    }
    const bool keyed = !key.empty() && SameHex(ChainHash(key, prev, e), e.hash);
    if (!keyed) {
      // Plain SHA-256 is what older versions wrote: accepted only as a prefix
      // that ends before the first keyed entry (and before keyed_from).
      const bool may_be_unkeyed = key.empty() || (!keyed_seen && (keyed_from == 0 || e.seq < keyed_from));
      if (!may_be_unkeyed || !SameHex(ChainHash("", prev, e), e.hash)) {
        flag(e.seq,
             key.empty() ? "hash mismatch (edited)" : "hash mismatch (edited, or re-chained without the chain key)");
        break;
      }
      if (!key.empty()) rep.unkeyed_through = e.seq;
    } else {
      keyed_seen = true;
    }
    prev = e.hash;
    ++expect_seq;
  }

  if (heads) {
    const int64_t last_seq = entries.empty() ? 0 : entries.back().seq;
    for (const AuditHead& h : *heads) {
      auto it = std::lower_bound(entries.begin(), entries.end(), h.seq,
                                 [](const AuditEntry& e, int64_t s) { return e.seq < s; });
      if (it != entries.end() && it->seq == h.seq && !SameHex(it->hash, h.hash))
        flag(h.seq, "differs from the head signed at " + FormatRfc3339(h.at) + " (rewritten or re-chained)");
    }
    if (rep.last_head && rep.last_head->seq > last_seq)
      flag(last_seq + 1, "missing: the anchor signed entry " + std::to_string(rep.last_head->seq) + " at " +
                             FormatRfc3339(rep.last_head->at) + " but the log ends at entry " +
                             std::to_string(last_seq) + " (truncated)");
  }
  if (bad) return Status::Conflict("audit entry " + std::to_string(bad->first) + ": " + bad->second);
  if (heads && heads->empty() && !entries.empty())
    return Status::Conflict("audit anchor has no signed head, but the log has " + std::to_string(entries.size()) +
                            " entries (anchor file deleted or emptied, or lethe has not appended since "
                            "audit.anchor_file was set: run `lethe audit anchor`)");
  return rep;
}

Status VerifyChain(const std::vector<AuditEntry>& entries, const std::string& chain_key) {
  Result<ChainReport> r = CheckChain(entries, chain_key, nullptr);
  return r.ok() ? Status::Ok() : r.status();
}

// --- AuditAnchor -------------------------------------------------------------

AuditAnchor::AuditAnchor(std::string path, std::string chain_key)
    : path_(std::move(path)), key_(std::move(chain_key)) {}

AuditAnchor::~AuditAnchor() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  Status st = Flush();  // shutdown: the last head goes out even inside the one-second window
  if (!st.ok()) spdlog::error("audit anchor: last head not written: {}", st.ToString());
}

void AuditAnchor::Note(const AuditHead& head) {
  std::lock_guard lk(mu_);
  if (head.keyed_from > 0 && keyed_from_ == 0) keyed_from_ = head.keyed_from;
  if (head.seq <= written_seq_ || (pending_ && head.seq <= pending_->seq)) return;
  pending_ = head;
  if (!stop_ && !thread_.joinable()) thread_ = std::thread([this] { Loop(); });
  cv_.notify_all();
}

void AuditAnchor::Loop() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    cv_.wait(lk, [&] { return stop_ || pending_.has_value(); });
    if (stop_) break;
    // At most one head a second: under load the file grows by one line a
    // second, not one per entry; the first head goes out at once.
    if (cv_.wait_until(lk, last_write_ + std::chrono::seconds(1), [&] { return stop_; })) break;
    lk.unlock();
    Status st = Flush();
    lk.lock();
    if (!st.ok()) {
      spdlog::error("audit anchor: {}", st.ToString());
      last_write_ = std::chrono::steady_clock::now();  // retry in a second, not in a busy loop
    }
  }
}

Status AuditAnchor::Flush() {
  std::lock_guard io(io_mu_);
  std::optional<AuditHead> head;
  {
    std::lock_guard lk(mu_);
    head.swap(pending_);
  }
  if (!head) return Status::Ok();
  Status st = Write(*head);
  std::lock_guard lk(mu_);
  if (!st.ok()) {
    if (!pending_) pending_ = head;  // try again with the next flush
    return st;
  }
  written_seq_ = std::max(written_seq_, head->seq);
  last_write_ = std::chrono::steady_clock::now();
  return st;
}

Status AuditAnchor::Append(AuditHead head) {
  std::lock_guard io(io_mu_);
  {
    std::lock_guard lk(mu_);
    if (head.keyed_from > 0 && keyed_from_ == 0) keyed_from_ = head.keyed_from;
  }
  return Write(std::move(head));
}

Status AuditAnchor::Write(AuditHead head) {
  int64_t keyed_from;
  {
    std::lock_guard lk(mu_);
    if (keyed_from_ == 0) {
      // Another process may have learnt where keying began: its heads say.
      if (auto h = ParseHead(LastAnchorLine(path_), key_); h && h->keyed_from > 0) keyed_from_ = h->keyed_from;
    }
    keyed_from = keyed_from_;
  }
  head.keyed_from = keyed_from;
  head.at = Now();
  const std::string line = SignedHeadLine(key_, head) + "\n";

  std::filesystem::path p(path_);
  std::error_code ec;
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  const bool existed = std::filesystem::exists(p, ec);
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Io("cannot open audit anchor " + path_ + ": " + std::strerror(errno));
  // One write() per line with O_APPEND: lines of several processes never interleave.
  Status st = WriteAll(fd, line);
  if (st.ok() && ::fsync(fd) != 0) st = Status::Io(std::string("fsync: ") + std::strerror(errno));
  ::close(fd);
  if (!st.ok()) return Status::Io("audit anchor " + path_ + ": " + st.message());
  if (!existed) {
    // A new file is durable only once its directory entry is.
    int dfd = ::open(p.has_parent_path() ? p.parent_path().c_str() : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }
  return Status::Ok();
}

}  // namespace lethe
