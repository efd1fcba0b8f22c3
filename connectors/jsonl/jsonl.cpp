// The "jsonl" connector: append-only logs and traces, one JSON object a line.
//
//   {"name": "logs", "type": "jsonl", "files": "logs/*.jsonl",
//    "match": {"user_id": "{app.users.id}", "email": "{identity.email}"},
//    "erase": "drop" | {"redact": ["email", "ip"]}, "categories": [...], "purpose": "...",
//    "portable": false, "retain": {...}}
//
// One collection, "lines". A line belongs to the subject when any match field
// (top level of the object; string or number, compared as text) equals one of
// the subject's values. Files are streamed line by line, never loaded whole;
// lines that are not JSON objects are counted and left alone.
//
// Erasure rewrites only the files that change, atomically: the new content is
// streamed to a temporary file in the same directory, fsynced and renamed over
// the original while holding an flock on the directory (two erasures of the
// same file never lose each other's work). Unchanged lines are copied byte for
// byte. Lines appended by the application while a file is rewritten are picked
// up until end of file; a line written in the instant between the last read and
// the rename can still be lost, so rotate logs before erasing if that matters.
#include "lethe/json_pointer.h"
#include <fcntl.h>
#include <glob.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "lethe/connector.h"
#include "lethe/connector_config.h"
#include "lethe/time.h"
#include "jsonl_lines.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;

const char kTempMarker[] = ".lethe-tmp-";

bool HasPlaceholder(const std::string& t) {
  size_t open = t.find('{');
  return open != std::string::npos && t.find('}', open) != std::string::npos;
}

// Escapes glob(3) metacharacters so a base directory is taken literally.
std::string GlobEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// A file opened for writing with a buffer, so a rewrite costs few syscalls.
class FdWriter {
 public:
  explicit FdWriter(int fd) : fd_(fd) { buf_.reserve(kBuf); }
  Status Append(std::string_view s) {
    buf_.append(s);
    return buf_.size() >= kBuf ? Flush() : Status::Ok();
  }
  Status Flush() {
    size_t off = 0;
    while (off < buf_.size()) {
      ssize_t n = ::write(fd_, buf_.data() + off, buf_.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::Io(std::string("write failed: ") + std::strerror(errno));
      }
      off += static_cast<size_t>(n);
    }
    buf_.clear();
    return Status::Ok();
  }

 private:
  static constexpr size_t kBuf = 256 * 1024;
  int fd_;
  std::string buf_;
};

// Closes an fd on scope exit.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

class JsonlConnector : public Connector {
 public:
  JsonlConnector(std::string name, std::string base_dir, std::vector<std::string> patterns, CollectionSpec spec)
      : name_(std::move(name)), base_dir_(std::move(base_dir)), patterns_(std::move(patterns)) {
    specs_.push_back(std::move(spec));
  }

  const std::string& name() const override { return name_; }
  const std::vector<CollectionSpec>& collections() const override { return specs_; }

  Status Connect() override {
    // Log files may not exist yet; only the directory they are globbed in must.
    std::error_code ec;
    if (!base_dir_.empty() && !fs::is_directory(base_dir_, ec)) {
      return Status::Unavailable("connector " + name_ + ": base directory does not exist");
    }
    std::vector<File> files;
    return ListFiles(&files);
  }

  Status Find(const CollectionSpec& c, const Match& m, const std::function<Status(const Item&)>& sink) override {
    jsonl::Terms terms = jsonl::MakeTerms(m);
    if (terms.empty()) return Status::Ok();
    std::vector<File> files;
    LETHE_RETURN_IF_ERROR(ListFiles(&files));
    for (const File& f : files) {
      std::ifstream in(f.path, std::ios::binary);
      if (!in) return Status::Io("connector " + name_ + ": cannot open a log file");
      std::string line;
      int64_t lineno = 0, malformed = 0;
      while (std::getline(in, line)) {
        ++lineno;
        bool bad = false;
        std::optional<nlohmann::json> obj = jsonl::MatchLine(line, terms, &bad);
        malformed += bad;
        if (!obj) continue;
        Item item;
        item.key = f.display + ":" + std::to_string(lineno);
        item.fields = std::move(*obj);
        LETHE_RETURN_IF_ERROR(sink(item));
      }
      if (in.bad()) return Status::Io("connector " + name_ + ": read failed");
      if (malformed > 0) {
        spdlog::warn("connector={} collection={} malformed_lines={} event=jsonl_skipped", name_, c.name, malformed);
      }
    }
    return Status::Ok();
  }

  // Log lines have no stable keys (a drop renumbers the lines after it), so
  // erasure re-matches `m`; `keys` are ignored. Running it again changes
  // nothing: dropped lines are gone and redacted fields are already redacted.
  Result<int64_t> Erase(const CollectionSpec& c, const Match& m, const std::vector<std::string>& keys,
                        const EraseAction& a) override {
    if (a.kind == EraseAction::Kind::kKeep) return int64_t{0};
    if (a.kind == EraseAction::Kind::kMask) {
      return Status::Invalid("connector " + name_ + " can drop or redact lines, not mask them");
    }
    jsonl::Terms terms = jsonl::MakeTerms(m);
    if (terms.empty()) return int64_t{0};
    std::vector<File> files;
    LETHE_RETURN_IF_ERROR(ListFiles(&files));
    int64_t changed = 0;
    for (const File& f : files) {
      LETHE_ASSIGN_OR_RETURN(auto n, RewriteFile(f, terms, a));
      changed += n;
    }
    return changed;
  }

 private:
  struct File {
    std::string path;     // what we open
    std::string display;  // what item keys show: relative to base_dir when the pattern was
  };

  Status ListFiles(std::vector<File>* out) {
    std::set<std::string> seen;
    for (const std::string& pattern : patterns_) {
      bool relative = pattern.front() != '/' && !base_dir_.empty();
      std::string full = relative ? GlobEscape(base_dir_) + "/" + pattern : pattern;
      glob_t g{};
      int rc = ::glob(full.c_str(), 0, nullptr, &g);
      if (rc != 0 && rc != GLOB_NOMATCH) {
        ::globfree(&g);
        return Status::Io("connector " + name_ + ": cannot list files for \"" + pattern + "\"");
      }
      for (size_t i = 0; i < g.gl_pathc; ++i) {
        std::string p = g.gl_pathv[i];
        std::error_code ec;
        if (!fs::is_regular_file(p, ec)) continue;
        if (p.find(kTempMarker) != std::string::npos) continue;  // our own leftovers
        if (!seen.insert(p).second) continue;
        File f;
        f.path = p;
        f.display = relative ? fs::path(p).lexically_relative(base_dir_).generic_string() : p;
        out->push_back(std::move(f));
      }
      ::globfree(&g);
    }
    return Status::Ok();
  }

  // Returns the number of lines changed in `f`; rewrites it only if any.
  Result<int64_t> RewriteFile(const File& f, const jsonl::Terms& terms, const EraseAction& a) {
    fs::path path(f.path);
    fs::path dir = path.parent_path();
    if (dir.empty()) dir = ".";
    int dirfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) return Status::Io("connector " + name_ + ": cannot open a log directory");
    FdCloser dir_closer{dirfd};
    // Serializes rewrites of files in this directory, across threads and processes.
    while (::flock(dirfd, LOCK_EX) != 0) {
      if (errno != EINTR) return Status::Io("connector " + name_ + ": cannot lock a log directory");
    }
    RemoveStaleTemps(dir, path.filename().string());

    // First pass, read-only: most files hold nothing of the subject and are
    // never rewritten.
    {
      std::ifstream in(path, std::ios::binary);
      if (!in) {
        std::error_code ec;
        if (!fs::exists(path, ec)) return int64_t{0};  // rotated away meanwhile
        return Status::Io("connector " + name_ + ": cannot open a log file");
      }
      std::string line;
      bool any = false;
      while (!any && std::getline(in, line)) {
        bool changed = false;
        jsonl::EraseInLine(line, terms, a, &changed);
        any = changed;
      }
      if (in.bad()) return Status::Io("connector " + name_ + ": read failed");
      if (!any) return int64_t{0};
    }

    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::Io("connector " + name_ + ": cannot open a log file");
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return Status::Io("connector " + name_ + ": cannot stat a log file");
    std::string tmpl = (dir / ("." + path.filename().string() + kTempMarker + "XXXXXX")).string();
    int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd < 0) return Status::Io("connector " + name_ + ": cannot create a temporary file");
    FdCloser fd_closer{fd};
    auto fail = [&](const std::string& what) -> Status {
      ::unlink(tmpl.c_str());
      return Status::Io("connector " + name_ + ": " + what);
    };
    if (::fchmod(fd, st.st_mode & 07777) != 0) return fail("cannot set permissions");

    FdWriter w(fd);
    int64_t changed_lines = 0;
    std::string line;
    // Loop until a pass reads nothing new, to pick up lines appended meanwhile.
    for (bool progressed = true; progressed;) {
      progressed = false;
      while (std::getline(in, line)) {
        progressed = true;
        bool had_newline = !in.eof();
        bool changed = false;
        std::optional<std::string> out = jsonl::EraseInLine(line, terms, a, &changed);
        if (changed) ++changed_lines;
        if (!out) continue;
        Status s = w.Append(*out);
        if (s.ok() && had_newline) s = w.Append("\n");
        if (!s.ok()) return fail(s.message());
      }
      if (in.bad()) return fail("read failed");
      in.clear();
    }
    Status s = w.Flush();
    if (!s.ok()) return fail(s.message());
    if (::fsync(fd) != 0) return fail("fsync failed");
    if (::rename(tmpl.c_str(), path.c_str()) != 0) return fail("cannot replace a log file");
    ::fsync(dirfd);  // make the rename durable
    return changed_lines;
  }

  // Removes temporary files a crashed rewrite of `base` left behind. Called
  // with the directory locked, so none of them is in use.
  void RemoveStaleTemps(const fs::path& dir, const std::string& base) {
    std::string stem = "." + base + kTempMarker;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::string n = it->path().filename().string();
      if (n.size() == stem.size() + 6 && n.compare(0, stem.size(), stem) == 0) {
        std::error_code rm;
        fs::remove(it->path(), rm);
      }
    }
  }

  std::string name_;
  std::string base_dir_;
  std::vector<std::string> patterns_;
  std::vector<CollectionSpec> specs_;
};

Result<std::unique_ptr<Connector>> MakeJsonl(const nlohmann::json& config, const std::string& pointer,
                                             const ConnectorContext& ctx) {
  ConnectorConfigReader r(config, pointer, ctx, "jsonl");
  std::string name = r.Name();
  std::vector<std::string> patterns;
  CollectionSpec c;
  c.name = "lines";
  c.pointer = pointer;
  c.erase.kind = EraseAction::Kind::kDrop;
  const nlohmann::json* files = r.Raw("files", ConnectorConfigReader::kRequired);
  const nlohmann::json* match = r.Raw("match", ConnectorConfigReader::kRequired);
  const nlohmann::json* erase = r.Raw("erase", ConnectorConfigReader::kOptional);
  const nlohmann::json* categories = r.Raw("categories", ConnectorConfigReader::kOptional);
  const nlohmann::json* purpose = r.Raw("purpose", ConnectorConfigReader::kOptional);
  c.portable = r.Bool("portable", false);
  const nlohmann::json* retain = r.Raw("retain", ConnectorConfigReader::kOptional);
  LETHE_RETURN_IF_ERROR(r.Finish());

  if (files->is_string()) {
    // A glob, or a list of globs (an addition to the contract's single string).
    patterns.push_back(files->get<std::string>());
  } else {
    LETHE_RETURN_IF_ERROR(ParseStringList(*files, r.Pointer("files"), &patterns, true));
  }
  for (const auto& pat : patterns) {
    if (pat.empty() || pat.find('\0') != std::string::npos) {
      return Status::Invalid("must be a file glob such as \"logs/*.jsonl\"", r.Pointer("files"));
    }
  }
  if (!match->is_object() || match->empty()) {
    return Status::Invalid("must be a non-empty object {field: \"{identity.email}\"}", r.Pointer("match"));
  }
  for (const auto& [field, tmpl] : match->items()) {
    std::string lp = r.Pointer("match") + "/" + PointerToken(field);
    if (field.empty()) return Status::Invalid("field name must not be empty", lp);
    if (!tmpl.is_string() || !HasPlaceholder(tmpl.get<std::string>())) {
      return Status::Invalid("must be a placeholder such as \"{identity.email}\"", lp);
    }
    c.links.push_back({field, tmpl.get<std::string>(), lp});
  }
  if (erase != nullptr) {
    const nlohmann::json& v = *erase;
    if (v == "drop") {
      c.erase.kind = EraseAction::Kind::kDrop;
    } else if (v == "keep") {
      c.erase.kind = EraseAction::Kind::kKeep;
    } else if (v.is_object() && v.size() == 1 && v.contains("redact")) {
      c.erase.kind = EraseAction::Kind::kRedact;
      LETHE_RETURN_IF_ERROR(ParseStringList(v["redact"], r.Pointer("erase") + "/redact", &c.erase.redact, true));
    } else {
      return Status::Invalid(
          "must be \"drop\", \"keep\" or {\"redact\": [field, ...]} (log lines cannot be "
          "masked; redact their fields instead)",
          r.Pointer("erase"));
    }
  }
  if (categories != nullptr)
    LETHE_RETURN_IF_ERROR(ParseStringList(*categories, r.Pointer("categories"), &c.categories));
  if (purpose != nullptr) {
    if (!purpose->is_string()) return Status::Invalid("must be a string", r.Pointer("purpose"));
    c.purpose = purpose->get<std::string>();
  }
  if (retain != nullptr) {
    Retention ret;
    LETHE_RETURN_IF_ERROR(ParseRetention(
        *retain, r.Pointer("retain"),
        [](const std::string& from, const std::string& fp) {
          return from.empty() ? Status::Invalid("must name a field", fp) : Status::Ok();
        },
        &ret));
    c.retain = std::move(ret);
  }
  // Retained lines are kept unless they are only redacted.
  if (c.retain && c.erase.kind == EraseAction::Kind::kDrop) c.erase.kind = EraseAction::Kind::kKeep;
  c.connector = name;
  return std::unique_ptr<Connector>(new JsonlConnector(name, ctx.base_dir, std::move(patterns), std::move(c)));
}

}  // namespace

LETHE_REGISTER_CONNECTOR("jsonl", MakeJsonl)

}  // namespace lethe
