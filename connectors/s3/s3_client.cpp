#include "s3_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <memory>
#include <mutex>

#include "sigv4.h"

namespace lethe::s3 {
namespace {

// Largest non-object response body kept (listings, errors).
constexpr size_t kMaxBody = 32 * 1024 * 1024;

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string AmzDate() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// Appends a code point as UTF-8.
void AppendUtf8(std::string* out, unsigned long cp) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// The text of the first <tag>...</tag> in `xml` from `from`, or npos.
bool Element(std::string_view xml, std::string_view tag, std::string* text, size_t from = 0) {
  std::string open = "<" + std::string(tag) + ">";
  std::string close = "</" + std::string(tag) + ">";
  size_t a = xml.find(open, from);
  if (a == std::string_view::npos) return false;
  a += open.size();
  size_t b = xml.find(close, a);
  if (b == std::string_view::npos) return false;
  *text = XmlDecode(xml.substr(a, b - a));
  return true;
}

bool ValidBucket(const std::string& b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || (c >= 'A' && c <= 'Z');
    if (!ok) return false;
  }
  return b.find("..") == std::string::npos;
}

size_t WriteToString(char* p, size_t size, size_t n, void* ud) {
  auto* s = static_cast<std::string*>(ud);
  if (s->size() + size * n > kMaxBody) return 0;
  s->append(p, size * n);
  return size * n;
}

// Response bodies go to the caller's sink only for successful GETs; anything
// else (an error document) is kept for the message, never passed on as content.
struct WriteState {
  CURL* curl = nullptr;
  const std::function<Status(std::string_view)>* sink = nullptr;
  std::string* body = nullptr;
  Status sink_status;
};

size_t WriteDispatch(char* p, size_t size, size_t n, void* ud) {
  auto* w = static_cast<WriteState*>(ud);
  long code = 0;
  curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &code);
  if (w->sink && code == 200) {
    Status s = (*w->sink)(std::string_view(p, size * n));
    if (!s.ok()) {
      w->sink_status = s;
      return 0;  // aborts the transfer
    }
    return size * n;
  }
  return WriteToString(p, size, n, w->body);
}

}  // namespace

Status CheckKey(std::string_view key, const std::string& what) {
  if (key.empty()) return Status::Invalid(what + " is empty");
  if (key.size() > 1024) return Status::Invalid(what + " is longer than 1024 bytes");
  if (key.front() == '/') return Status::Invalid(what + " must not start with '/'");
  for (unsigned char c : key) {
    if (c < 0x20 || c == 0x7F) return Status::Invalid(what + " contains a control character");
    if (c == '\\') return Status::Invalid(what + " contains a backslash");
  }
  size_t start = 0;
  while (true) {
    size_t slash = key.find('/', start);
    bool last = slash == std::string_view::npos;
    std::string_view part = key.substr(start, last ? std::string_view::npos : slash - start);
    if (part == "." || part == "..") return Status::Invalid(what + " contains a \".\" or \"..\" component");
    if (part.empty() && !last) return Status::Invalid(what + " contains an empty component");
    if (last) break;
    start = slash + 1;
  }
  return Status::Ok();
}

std::string XmlDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    size_t semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out += s[i];
      continue;
    }
    std::string_view ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp")
      out += '&';
    else if (ent == "lt")
      out += '<';
    else if (ent == "gt")
      out += '>';
    else if (ent == "quot")
      out += '"';
    else if (ent == "apos")
      out += '\'';
    else if (ent.size() > 1 && ent[0] == '#') {
      bool hex = ent[1] == 'x' || ent[1] == 'X';
      std::string digits(ent.substr(hex ? 2 : 1));
      char* end = nullptr;
      unsigned long cp = std::strtoul(digits.c_str(), &end, hex ? 16 : 10);
      if (digits.empty() || *end != '\0' || cp > 0x10FFFF) {
        out.append(s.substr(i, semi - i + 1));
      } else {
        AppendUtf8(&out, cp);
      }
    } else {
      out.append(s.substr(i, semi - i + 1));  // unknown: keep as written
    }
    i = semi;
  }
  return out;
}

Result<ListPage> ParseListObjectsV2(std::string_view xml) {
  if (xml.find("<ListBucketResult") == std::string_view::npos) {
    return Status::Io("S3 listing is not a ListBucketResult");
  }
  ListPage page;
  size_t pos = 0;
  while (true) {
    size_t a = xml.find("<Contents>", pos);
    if (a == std::string_view::npos) break;
    size_t b = xml.find("</Contents>", a);
    if (b == std::string_view::npos) return Status::Io("S3 listing is truncated");
    std::string_view entry = xml.substr(a, b - a);
    ObjectInfo o;
    std::string size;
    if (!Element(entry, "Key", &o.key)) return Status::Io("S3 listing entry without <Key>");
    if (Element(entry, "Size", &size)) o.size = std::strtoll(size.c_str(), nullptr, 10);
    Element(entry, "LastModified", &o.last_modified);
    page.objects.push_back(std::move(o));
    pos = b + 11;
  }
  // <IsTruncated> and <NextContinuationToken> sit outside the <Contents>
  // entries; look for them only there, so no key's text can fake them.
  size_t last_contents = xml.rfind("</Contents>");
  size_t first_contents = xml.find("<Contents>");
  std::string outside(xml.substr(0, first_contents == std::string_view::npos ? xml.size() : first_contents));
  if (last_contents != std::string_view::npos) outside.append(xml.substr(last_contents));
  std::string truncated;
  if (Element(outside, "IsTruncated", &truncated)) page.truncated = truncated == "true";
  Element(outside, "NextContinuationToken", &page.next_token);
  if (page.truncated && page.next_token.empty()) return Status::Io("S3 listing is truncated without a token");
  return page;
}

Result<Client> Client::Make(ClientConfig config) {
  GlobalInit();
  const std::string& e = config.endpoint;
  size_t sep = e.find("://");
  if (sep == std::string::npos) return Status::Invalid("endpoint must be an http:// or https:// URL");
  std::string scheme = e.substr(0, sep);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  if (scheme != "http" && scheme != "https") return Status::Invalid("endpoint must be an http:// or https:// URL");
  std::string rest = e.substr(sep + 3);
  if (rest.find_first_of("?#@%\\ ") != std::string::npos) {
    return Status::Invalid("endpoint must not hold user info, a query, a fragment or escapes");
  }
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (authority.empty()) return Status::Invalid("endpoint has no host");
  std::transform(authority.begin(), authority.end(), authority.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  // The Host header (and so the signature) leaves out a default port.
  if (scheme == "http" && authority.size() > 3 && authority.compare(authority.size() - 3, 3, ":80") == 0) {
    authority.resize(authority.size() - 3);
  }
  if (scheme == "https" && authority.size() > 4 && authority.compare(authority.size() - 4, 4, ":443") == 0) {
    authority.resize(authority.size() - 4);
  }
  if (!ValidBucket(config.bucket)) return Status::Invalid("bucket name must be 3-63 of [a-z0-9.-]");
  if (config.region.empty()) config.region = "us-east-1";
  Client c(std::move(config));
  c.scheme_ = scheme;
  c.authority_ = c.config_.path_style ? authority : c.config_.bucket + "." + authority;
  c.base_path_ = path;
  return c;
}

Result<Client::Response> Client::Perform(const std::string& method, const std::string& key,
                                         const std::vector<std::pair<std::string, std::string>>& query,
                                         std::string_view body, const std::function<Status(std::string_view)>* sink) {
  std::string path = base_path_ + (config_.path_style ? "/" + config_.bucket : "");
  if (!key.empty() || !config_.path_style) path += "/" + key;
  std::string canonical_query = CanonicalQuery(query);
  std::string url = scheme_ + "://" + authority_ + UriEncode(path, true);
  if (!canonical_query.empty()) url += "?" + canonical_query;

  std::string amz_date = AmzDate();
  std::string payload_hash = Sha256Hex(body);
  SigV4Request req;
  req.method = method;
  req.path = path;
  req.query = query;
  req.headers = {{"host", authority_}, {"x-amz-content-sha256", payload_hash}, {"x-amz-date", amz_date}};
  req.payload_sha256 = payload_hash;
  SigV4Signature sig = SignV4(req, {config_.access_key, config_.secret_key, config_.region, "s3"}, amz_date);

  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Status::Internal("curl_easy_init failed");
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add = [&](const std::string& h) { headers.reset(curl_slist_append(headers.release(), h.c_str())); };
  add("Host: " + authority_);
  add("x-amz-content-sha256: " + payload_hash);
  add("x-amz-date: " + amz_date);
  add("Authorization: " + sig.authorization);
  add("Expect:");
  add("Content-Type:");

  Response resp;
  WriteState ws;
  ws.curl = curl.get();
  ws.sink = sink;
  ws.body = &resp.body;
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteDispatch);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &ws);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  // A transfer stalled below 1 byte/s for a minute is given up; large objects
  // that keep moving may take as long as they need.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  if (method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (method == "PUT") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  } else if (method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  CURLcode rc = curl_easy_perform(c);
  if (!ws.sink_status.ok()) return ws.sink_status;
  if (rc != CURLE_OK) {
    return Status::Unavailable(std::string("S3 endpoint unreachable: ") + curl_easy_strerror(rc));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.code);
  return resp;
}

Status Client::HttpError(const std::string& what, const Response& r) const {
  // The error code only: the server's <Message> (and <Key>) can quote the
  // object key, which holds the subject's id, and error texts reach events,
  // logs and operator mail.
  std::string code;
  Element(r.body, "Code", &code);
  std::string msg = what + ": HTTP " + std::to_string(r.code) + (code.empty() ? "" : " " + code);
  if (r.code == 404) return Status::NotFound(msg);
  if (r.code == 401 || r.code == 403) return Status::Forbidden(msg);
  if (r.code >= 500) return Status::Unavailable(msg);
  return Status::Io(msg);
}

Result<ListPage> Client::List(const std::string& prefix, const std::string& token, int max_keys) {
  std::vector<std::pair<std::string, std::string>> q = {{"list-type", "2"}, {"max-keys", std::to_string(max_keys)}};
  if (!prefix.empty()) q.emplace_back("prefix", prefix);
  if (!token.empty()) q.emplace_back("continuation-token", token);
  LETHE_ASSIGN_OR_RETURN(auto r, Perform("GET", "", q, "", nullptr));
  if (r.code != 200) return HttpError("listing bucket " + config_.bucket + " failed", r);
  return ParseListObjectsV2(r.body);
}

Status Client::Get(const std::string& key, const std::function<Status(std::string_view)>& sink) {
  LETHE_ASSIGN_OR_RETURN(auto r, Perform("GET", key, {}, "", &sink));
  if (r.code != 200) return HttpError("reading an object failed", r);
  return Status::Ok();
}

Result<bool> Client::Exists(const std::string& key) {
  LETHE_ASSIGN_OR_RETURN(auto r, Perform("HEAD", key, {}, "", nullptr));
  if (r.code == 200) return true;
  if (r.code == 404) return false;
  return HttpError("checking an object failed", r);
}

Status Client::Delete(const std::string& key) {
  LETHE_ASSIGN_OR_RETURN(auto r, Perform("DELETE", key, {}, "", nullptr));
  // S3 answers 204 whether or not the key existed; some servers say 404.
  if (r.code == 204 || r.code == 200 || r.code == 404) return Status::Ok();
  return HttpError("deleting an object failed", r);
}

Status Client::Put(const std::string& key, std::string_view body) {
  LETHE_ASSIGN_OR_RETURN(auto r, Perform("PUT", key, {}, body, nullptr));
  if (r.code != 200) return HttpError("writing an object failed", r);
  return Status::Ok();
}

Status Client::CreateBucket() {
  LETHE_ASSIGN_OR_RETURN(auto r, Perform("PUT", "", {}, "", nullptr));
  if (r.code != 200) return HttpError("creating bucket " + config_.bucket + " failed", r);
  return Status::Ok();
}

Status Client::DeleteBucket() {
  LETHE_ASSIGN_OR_RETURN(auto r, Perform("DELETE", "", {}, "", nullptr));
  if (r.code != 204 && r.code != 200) return HttpError("deleting bucket " + config_.bucket + " failed", r);
  return Status::Ok();
}

}  // namespace lethe::s3
