// The "filesystem" connector: a subject's files under a local directory.
//
//   {"name": "files", "type": "filesystem", "root": "files",
//    "objects": [{"name": "uploads", "prefix": "{app.users.id}/", "categories": ["uploads"],
//                 "purpose": "...", "portable": true, "erase": "delete", "retain": {...}}]}
//
// Each "objects" entry is one object collection whose link column is "prefix".
// A prefix is matched as S3 matches one: a plain string prefix of the object
// key (the path relative to root, '/'-separated). Because "42" would then also
// match "420/...", a prefix template may not end with a placeholder; it must
// end in "/" or another delimiter after the last placeholder.
//
// Identity values end up in file paths, so every resolved prefix and every key
// is checked before it touches the filesystem: relative, no "." or ".."
// components, no NUL or backslash, and its real location (symlinks resolved)
// inside the canonical root. Files reached through symlinks that leave the
// root are never listed, read or deleted.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include <spdlog/spdlog.h>

#include "lethe/hex.h"
#include "lethe/json_pointer.h"
#include "lethe/mask.h"
#include "lethe/connector.h"
#include "lethe/connector_config.h"
#include "lethe/time.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;

constexpr size_t kChunk = 64 * 1024;

// Checks a relative object path or prefix: no leading '/', no NUL or
// backslash, no empty, "." or ".." component. A trailing '/' is allowed (a
// directory prefix); what follows the last '/' may be a partial name.
Status CheckRelative(std::string_view s, const std::string& what) {
  if (s.empty()) return Status::Invalid(what + " is empty");
  if (s.front() == '/') return Status::Invalid(what + " must be relative to the root");
  if (s.find('\0') != std::string_view::npos) return Status::Invalid(what + " contains a NUL byte");
  if (s.find('\\') != std::string_view::npos) return Status::Invalid(what + " contains a backslash");
  size_t start = 0;
  while (start <= s.size()) {
    size_t slash = s.find('/', start);
    bool last = slash == std::string_view::npos;
    std::string_view part = s.substr(start, last ? std::string_view::npos : slash - start);
    if (part == "." || part == "..") return Status::Invalid(what + " contains a \".\" or \"..\" component");
    if (part.empty() && !last) return Status::Invalid(what + " contains an empty component");
    if (last) break;
    start = slash + 1;
  }
  return Status::Ok();
}

// True when `p` (absolute, normalized) is `root` or inside it.
bool IsUnder(const fs::path& p, const fs::path& root) {
  auto [rit, pit] = std::mismatch(root.begin(), root.end(), p.begin(), p.end());
  return rit == root.end() || (std::next(rit) == root.end() && rit->empty());
}

// Modification time of a file (following symlinks) as RFC 3339, or "" if unknown.
std::string ModifiedTime(const fs::path& p) {
  struct stat st;
  if (::stat(p.c_str(), &st) != 0) return "";
  return FormatRfc3339(FromUnix(static_cast<int64_t>(st.st_mtime)));
}

class FilesystemConnector : public Connector {
 public:
  FilesystemConnector(std::string name, fs::path root, std::vector<CollectionSpec> specs)
      : name_(std::move(name)), root_(std::move(root)), specs_(std::move(specs)) {}

  const std::string& name() const override { return name_; }
  const std::vector<CollectionSpec>& collections() const override { return specs_; }

  Status Connect() override {
    std::error_code ec;
    if (!fs::is_directory(root_, ec)) {
      return Status::Unavailable("connector " + name_ + ": root is not a directory");
    }
    canonical_root_ = fs::canonical(root_, ec);
    if (ec) return Status::Io("connector " + name_ + ": cannot resolve root: " + ec.message());
    return Status::Ok();
  }

  Status Find(const CollectionSpec& c, const Match& m, const std::function<Status(const Item&)>& sink) override {
    LETHE_RETURN_IF_ERROR(EnsureRoot());
    // A file matched by two prefixes (or two terms) is reported once.
    std::set<std::string> seen;
    for (const std::string& prefix : Prefixes(m)) {
      LETHE_RETURN_IF_ERROR(CheckRelative(prefix, "prefix"));
      // Walk only the directory the prefix names (everything up to its last
      // '/'), then keep the keys that really start with the prefix.
      size_t slash = prefix.rfind('/');
      std::string dir = slash == std::string::npos ? "" : prefix.substr(0, slash);
      fs::path start = dir.empty() ? root_ : root_ / dir;
      std::error_code ec;
      if (!fs::exists(fs::symlink_status(start, ec))) continue;
      bool inside = false;
      LETHE_RETURN_IF_ERROR(Inside(start, &inside));
      if (!inside) return Status::Invalid("prefix leaves the root of connector " + name_ + " through a symlink");
      if (!fs::is_directory(start, ec)) continue;

      fs::recursive_directory_iterator it(start, fs::directory_options::none, ec), end;
      if (ec) return Status::Io("connector " + name_ + ": cannot list a prefix: " + ec.message());
      int64_t skipped = 0;
      for (; it != end; it.increment(ec)) {
        if (ec) return Status::Io("connector " + name_ + ": listing failed: " + ec.message());
        const fs::directory_entry& e = *it;
        // Lexical, so a symlink's own path is kept (fs::relative would resolve it).
        std::string key = e.path().lexically_relative(root_).generic_string();
        if (key.compare(0, prefix.size(), prefix) != 0) {
          // A sibling such as "420" under prefix "42": nothing inside it can match.
          if (e.is_directory(ec) && !e.is_symlink(ec)) it.disable_recursion_pending();
          continue;
        }
        if (e.is_symlink(ec)) {
          bool ok = false;
          LETHE_RETURN_IF_ERROR(Inside(e.path(), &ok));
          if (!ok) {
            ++skipped;
            continue;
          }
        }
        if (!e.is_regular_file(ec)) continue;
        if (!seen.insert(key).second) continue;
        Item item;
        item.key = key;
        item.size = static_cast<int64_t>(e.file_size(ec));
        if (ec) return Status::Io("connector " + name_ + ": cannot stat a file: " + ec.message());
        item.fields = {{"key", key}, {"size", item.size}};
        std::string modified = ModifiedTime(e.path());
        if (!modified.empty()) item.fields["modified"] = modified;
        LETHE_RETURN_IF_ERROR(sink(item));
      }
      if (skipped > 0) {
        spdlog::warn("connector={} collection={} skipped={} event=symlinks_leaving_root", name_, c.name, skipped);
      }
    }
    return Status::Ok();
  }

  Status ReadObject(const CollectionSpec& c, const Item& item,
                    const std::function<Status(std::string_view)>& sink) override {
    LETHE_RETURN_IF_ERROR(EnsureRoot());
    LETHE_RETURN_IF_ERROR(CheckRelative(item.key, "object key"));
    fs::path p = root_ / item.key;
    bool inside = false;
    LETHE_RETURN_IF_ERROR(Inside(p, &inside));
    if (!inside) return Status::Invalid("object key leaves the root of connector " + name_);
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) return Status::NotFound("connector " + name_ + ": object is gone");
    std::ifstream in(p, std::ios::binary);
    if (!in) return Status::NotFound("connector " + name_ + ": object is gone");
    std::string buf(kChunk, '\0');
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      std::streamsize n = in.gcount();
      if (n > 0) LETHE_RETURN_IF_ERROR(sink(std::string_view(buf.data(), static_cast<size_t>(n))));
    }
    if (in.bad()) return Status::Io("connector " + name_ + ": read failed");
    return Status::Ok();
  }

  Result<int64_t> Erase(const CollectionSpec& c, const Match& m, const std::vector<std::string>& keys,
                        const EraseAction& a) override {
    if (a.kind == EraseAction::Kind::kKeep) return int64_t{0};
    if (a.kind != EraseAction::Kind::kDelete) {
      return Status::Invalid("connector " + name_ + " can only delete or keep files");
    }
    LETHE_RETURN_IF_ERROR(EnsureRoot());
    std::vector<std::string> prefixes = Prefixes(m);
    for (const auto& p : prefixes) LETHE_RETURN_IF_ERROR(CheckRelative(p, "prefix"));

    int64_t removed = 0;
    std::set<std::string> dirs;  // parents to prune once empty
    for (const std::string& key : keys) {
      LETHE_RETURN_IF_ERROR(CheckRelative(key, "object key"));
      if (key.back() == '/') return Status::Invalid("object key names a directory");
      // Defense in depth: a key outside the subject's prefixes is never deleted.
      if (!prefixes.empty() && std::none_of(prefixes.begin(), prefixes.end(),
                                            [&](const std::string& p) { return key.compare(0, p.size(), p) == 0; })) {
        return Status::Invalid("object key is outside the subject's prefixes");
      }
      fs::path p = root_ / key;
      // The parent must really be inside the root; the file itself may be a
      // symlink, and remove() deletes the link, never its target.
      bool inside = false;
      LETHE_RETURN_IF_ERROR(Inside(p.parent_path(), &inside));
      if (!inside) return Status::Invalid("object key leaves the root of connector " + name_);
      // Parents are pruned even when the file is already gone: a run killed
      // between deleting files and pruning left them empty.
      size_t slash = key.rfind('/');
      if (slash != std::string::npos) dirs.insert(key.substr(0, slash));
      std::error_code ec;
      auto st = fs::symlink_status(p, ec);
      if (!fs::exists(st)) continue;  // already gone: erasure is idempotent
      if (fs::is_directory(st)) return Status::Invalid("object key names a directory");
      if (!fs::remove(p, ec) && ec) {
        return Status::Io("connector " + name_ + ": cannot delete a file: " + ec.message());
      }
      ++removed;
    }

    // Remove directories left empty, deepest first, but only the subject's:
    // those at or below the component holding the template's last
    // placeholder ("{id}/" removes "42" and below; "uploads/{id}_" removes
    // "uploads/42_x" but never "uploads"), and, when the prefixes are known,
    // inside one of them (their path + "/" starts with it).
    size_t min_depth = SubjectDepth(c);
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
      std::string d = *it;
      while (!d.empty()) {
        if (static_cast<size_t>(std::count(d.begin(), d.end(), '/')) + 1 < min_depth) break;
        std::string with_slash = d + "/";
        bool in_prefix = prefixes.empty() || std::any_of(prefixes.begin(), prefixes.end(), [&](const std::string& p) {
                           return with_slash.compare(0, p.size(), p) == 0;
                         });
        if (!in_prefix) break;
        std::error_code ec;
        fs::path dp = root_ / d;
        if (fs::is_symlink(dp, ec) || !fs::is_directory(dp, ec) || !fs::is_empty(dp, ec)) break;
        fs::remove(dp, ec);
        if (ec) break;
        size_t slash = d.rfind('/');
        d = slash == std::string::npos ? "" : d.substr(0, slash);
      }
    }
    return removed;
  }

 private:
  Status EnsureRoot() {
    if (!canonical_root_.empty()) return Status::Ok();
    return Connect();
  }

  // Number of path components up to and including the one that holds the
  // last placeholder of the collection's prefix template: directories with
  // fewer components are shared by subjects and never pruned.
  static size_t SubjectDepth(const CollectionSpec& c) {
    size_t depth = std::numeric_limits<size_t>::max();  // no template: prune nothing
    for (const auto& link : c.links) {
      if (link.column != "prefix") continue;
      size_t last = link.value_template.rfind('{');
      if (last == std::string::npos) continue;
      std::string_view head(link.value_template.data(), last);
      depth = static_cast<size_t>(std::count(head.begin(), head.end(), '/')) + 1;
    }
    return depth;
  }

  // The prefix values of the match (the link column is always "prefix").
  static std::vector<std::string> Prefixes(const Match& m) {
    std::vector<std::string> out;
    for (const MatchTerm& t : m) {
      if (t.column != "prefix") continue;
      for (const auto& v : t.values) out.push_back(v);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  // Sets *inside to whether `p`, with every symlink resolved (a missing tail
  // is resolved lexically), lies within the canonical root.
  Status Inside(const fs::path& p, bool* inside) {
    std::error_code ec;
    fs::path real = fs::weakly_canonical(p, ec);
    if (ec) return Status::Io("connector " + name_ + ": cannot resolve a path: " + ec.message());
    *inside = IsUnder(real, canonical_root_);
    return Status::Ok();
  }

  std::string name_;
  fs::path root_;
  fs::path canonical_root_;
  std::vector<CollectionSpec> specs_;
};

Result<std::unique_ptr<Connector>> MakeFilesystem(const nlohmann::json& config, const std::string& pointer,
                                                  const ConnectorContext& ctx) {
  ConnectorConfigReader r(config, pointer, ctx, "filesystem");
  std::string name = r.Name();
  std::string root = r.String("root", ConnectorConfigReader::kRequired, "a directory path");
  const nlohmann::json* objects = r.Raw("objects", ConnectorConfigReader::kRequired);
  LETHE_RETURN_IF_ERROR(r.Finish());

  LETHE_ASSIGN_OR_RETURN(auto specs, ParseObjectCollections(*objects, name, pointer + "/objects", CheckRelative));

  fs::path root_path(root);
  if (root_path.is_relative() && !ctx.base_dir.empty()) root_path = fs::path(ctx.base_dir) / root_path;
  root_path = root_path.lexically_normal();
  return std::unique_ptr<Connector>(new FilesystemConnector(std::move(name), std::move(root_path), std::move(specs)));
}

}  // namespace

LETHE_REGISTER_CONNECTOR("filesystem", MakeFilesystem)

}  // namespace lethe
