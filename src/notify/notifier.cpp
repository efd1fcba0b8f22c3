// Notifier: SMTP and webhooks over libcurl, signatures with OpenSSL.
#include "notify/notifier.h"

#include "lethe/util/base64.h"

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <mutex>
#include <sstream>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <spdlog/spdlog.h>

#include "notify/crypto_util.h"

namespace lethe {

using nlohmann::json;

// ---------------------------------------------------------------- Message

json Message::ToJson() const {
  json j = {{"channel", channel}};
  if (!request_id.empty()) j["request_id"] = request_id;
  if (channel == "email") {
    j["to"] = to;
    j["subject"] = subject;
    j["body"] = body;
  } else {
    j["url"] = url;
    j["payload"] = payload;
    if (!signing.empty()) j["signing"] = signing;
    if (!secret_env.empty()) j["secret_env"] = secret_env;
  }
  if (!audit.is_null()) j["audit"] = audit;
  if (!secret.is_null()) j["secret"] = secret;
  return j;
}

Result<Message> Message::FromJson(const json& j) {
  try {
    Message m;
    m.channel = j.at("channel").get<std::string>();
    m.request_id = j.value("request_id", "");
    if (m.channel == "email") {
      m.to = j.at("to").get<std::vector<std::string>>();
      m.subject = j.at("subject").get<std::string>();
      m.body = j.at("body").get<std::string>();
    } else if (m.channel == "webhook") {
      m.url = j.at("url").get<std::string>();
      m.payload = j.at("payload").get<std::string>();
      m.signing = j.value("signing", "");
      m.secret_env = j.value("secret_env", "");
    } else {
      return Status::Invalid("unknown channel \"" + m.channel + "\"", "/channel");
    }
    if (j.contains("audit")) m.audit = j["audit"];
    if (j.contains("secret")) m.secret = j["secret"];
    return m;
  } catch (const json::exception& e) {
    return Status::Invalid(std::string("malformed outbox message: ") + e.what());
  }
}

// ---------------------------------------------------------------- helpers

namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// "https://host:8443/x" -> "host". Empty if there is no host.
std::string HostOf(const std::string& url) {
  size_t p = url.find("://");
  size_t start = p == std::string::npos ? 0 : p + 3;
  size_t end = url.find_first_of(":/?#", start);
  std::string host = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  size_t at = host.rfind('@');
  if (at != std::string::npos) host = host.substr(at + 1);
  return host;
}

// Mail addresses go into SMTP commands and headers: anything that could
// smuggle a second command or header is refused outright.
bool PlausibleAddress(const std::string& a) {
  if (a.empty() || a.size() > 254) return false;
  if (a.find('@') == std::string::npos) return false;
  for (unsigned char c : a) {
    if (c <= ' ' || c == '<' || c == '>' || c == ',' || c == ';' || c == '"' || c == 0x7f) return false;
  }
  return true;
}

// Header values are ours, but a reason or a request id could in principle
// carry a line break: a header must never be able to start another one.
std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return s;
}

bool IsAscii(const std::string& s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

// RFC 2047 encoded word for non-ASCII subjects.
std::string EncodeHeaderText(const std::string& s) {
  if (IsAscii(s)) return s;
  return "=?UTF-8?B?" + util::Base64Encode(s) + "?=";
}

std::string Rfc5322Date(Time t) {
  std::time_t tt = static_cast<std::time_t>(ToUnix(t));
  std::tm tm{};
  gmtime_r(&tt, &tm);
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

// Bare LF -> CRLF, as SMTP requires, and no line over SMTP's 998-byte
// limit: a long free-text reason is broken (between UTF-8 characters, never
// inside one) rather than bounced by the server.
std::string Crlf(const std::string& body) {
  constexpr size_t kMaxLine = 900;
  std::string out;
  out.reserve(body.size() + body.size() / 40);
  size_t line = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(body[i]);
    if (body[i] == '\n') {
      if (i == 0 || body[i - 1] != '\r') out += '\r';
      out += '\n';
      line = 0;
      continue;
    }
    if (line >= kMaxLine && (c & 0xC0) != 0x80 && body[i] != '\r') {
      out += "\r\n";
      line = 0;
    }
    out += body[i];
    ++line;
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

struct Upload {
  const std::string* data;
  size_t pos = 0;
};

size_t ReadUpload(char* buf, size_t size, size_t nitems, void* userp) {
  auto* u = static_cast<Upload*>(userp);
  size_t n = std::min(size * nitems, u->data->size() - u->pos);
  std::memcpy(buf, u->data->data() + u->pos, n);
  u->pos += n;
  return n;
}

// The receiver's answer body is not used: only its status code counts.
size_t Discard(char*, size_t size, size_t nmemb, void*) { return size * nmemb; }

}  // namespace

// ---------------------------------------------------------------- Notifier

struct Notifier::Key {
  EVP_PKEY* pkey = nullptr;
  ~Key() { EVP_PKEY_free(pkey); }
};

Notifier::~Notifier() = default;

Result<std::unique_ptr<Notifier>> Notifier::Create(const Config& config) {
  GlobalInit();
  std::unique_ptr<Notifier> n(new Notifier());
  n->public_url_ = config.public_url;
  while (!n->public_url_.empty() && n->public_url_.back() == '/') n->public_url_.pop_back();
  n->opendsr_domain_ = HostOf(n->public_url_);
  n->opendsr_controller_id_ = n->opendsr_domain_;

  auto secret = [&](const std::string& env, const std::string& pointer) -> Status {
    if (env.empty()) return Status::Ok();
    for (const auto& [name, value] : n->secrets_) {
      if (name == env) return Status::Ok();
    }
    const char* v = std::getenv(env.c_str());
    if (v == nullptr || *v == '\0') {
      return Status::Invalid("environment variable " + env + " is not set", pointer);
    }
    n->secrets_.emplace_back(env, v);
    return Status::Ok();
  };

  const json& notify = config.notify;
  std::string at;  // JSON pointer of what is being read, for the error
  try {
    if (!notify.is_null() && !notify.is_object()) return Status::Invalid("must be an object", "/notify");
    if (notify.is_object() && notify.contains("smtp")) {
      const json& smtp = notify["smtp"];
      at = "/notify/smtp/url";
      n->smtp_url_ = smtp.at("url").get<std::string>();
      if (n->smtp_url_.rfind("smtp://", 0) != 0 && n->smtp_url_.rfind("smtps://", 0) != 0) {
        return Status::Invalid("must start with smtp:// or smtps://", at);
      }
      at = "/notify/smtp/from";
      n->smtp_from_ = smtp.at("from").get<std::string>();
      if (!PlausibleAddress(n->smtp_from_)) return Status::Invalid("not a mail address", at);
      at = "/notify/smtp/username_env";
      std::string user_env = smtp.value("username_env", "");
      LETHE_RETURN_IF_ERROR(secret(user_env, at));
      at = "/notify/smtp/password_env";
      std::string pw_env = smtp.value("password_env", "");
      LETHE_RETURN_IF_ERROR(secret(pw_env, at));
      for (const auto& [name, value] : n->secrets_) {
        if (name == user_env) n->smtp_user_ = value;
        if (name == pw_env) n->smtp_password_ = value;
      }
    }
    if (notify.is_object() && notify.contains("operators")) {
      const json& ops = notify["operators"];
      for (size_t i = 0; i < ops.size(); ++i) {
        at = "/notify/operators/" + std::to_string(i);
        std::string a = ops.at(i).get<std::string>();
        if (!PlausibleAddress(a)) return Status::Invalid("not a mail address", at);
        n->operators_.push_back(a);
      }
    }
    std::vector<std::string> reminders = {"P7D", "P3D", "P1D"};
    if (notify.is_object() && notify.contains("reminders")) {
      at = "/notify/reminders";
      reminders = notify["reminders"].get<std::vector<std::string>>();
    }
    for (size_t i = 0; i < reminders.size(); ++i) {
      auto d = ParseIsoDuration(reminders[i]);
      if (!d.ok()) return Status::Invalid(d.status().message(), "/notify/reminders/" + std::to_string(i));
      n->reminders_.push_back(*d);
    }
    if (notify.is_object() && notify.contains("webhooks")) {
      const json& hooks = notify["webhooks"];
      for (size_t i = 0; i < hooks.size(); ++i) {
        std::string base = "/notify/webhooks/" + std::to_string(i);
        at = base + "/url";
        WebhookTarget t;
        t.url = hooks.at(i).at("url").get<std::string>();
        at = base + "/secret_env";
        t.secret_env = hooks.at(i).value("secret_env", "");
        LETHE_RETURN_IF_ERROR(secret(t.secret_env, at));
        n->webhooks_.push_back(t);
      }
    }
    if (notify.is_object() && notify.contains("opendsr")) {
      const json& o = notify["opendsr"];
      at = "/notify/opendsr/controller_id";
      n->opendsr_controller_id_ = o.value("controller_id", n->opendsr_controller_id_);
      at = "/notify/opendsr/certificate_url";
      n->opendsr_certificate_url_ = o.value("certificate_url", "");
      at = "/notify/opendsr/allow_callback_hosts";
      for (const auto& h : o.value("allow_callback_hosts", json::array())) {
        std::string host = h.get<std::string>();
        for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        n->allow_callback_hosts_.push_back(host);
      }
      at = "/notify/opendsr/private_key_file";
      std::string key_file = o.value("private_key_file", "");
      if (!key_file.empty()) {
        std::string path = config.Resolve(key_file);
        FILE* f = std::fopen(path.c_str(), "r");
        if (f == nullptr) return Status::Invalid("cannot open " + path + ": " + std::strerror(errno), at);
        EVP_PKEY* pkey = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
        std::fclose(f);
        if (pkey == nullptr) return Status::Invalid(path + " holds no PEM private key", at);
        n->opendsr_key_ = std::make_unique<Key>();
        n->opendsr_key_->pkey = pkey;
      }
    }
    const json& recips = config.recipients;
    for (size_t i = 0; recips.is_array() && i < recips.size(); ++i) {
      std::string base = "/recipients/" + std::to_string(i);
      Recipient r;
      at = base + "/name";
      r.name = recips[i].at("name").get<std::string>();
      at = base + "/webhook";
      r.webhook = recips[i].value("webhook", "");
      at = base + "/email";
      r.email = recips[i].value("email", "");
      at = base + "/secret_env";
      r.secret_env = recips[i].value("secret_env", "");
      if (r.webhook.empty() == r.email.empty()) {
        return Status::Invalid("needs exactly one of \"webhook\" and \"email\"", base);
      }
      if (!r.email.empty() && !PlausibleAddress(r.email)) return Status::Invalid("not a mail address", base + "/email");
      LETHE_RETURN_IF_ERROR(secret(r.secret_env, base + "/secret_env"));
      n->recipients_.push_back(r);
    }
  } catch (const json::exception& e) {
    return Status::Invalid(std::string("malformed: ") + e.what(), at);
  }
  return n;
}

bool Notifier::can_sign_opendsr() const { return opendsr_key_ != nullptr; }

Result<std::string> Notifier::SignOpenDsr(const std::string& body) const {
  if (!opendsr_key_) return Status::Unavailable("no notify.opendsr.private_key_file configured");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return Status::Internal("EVP_MD_CTX_new failed");
  std::string sig;
  size_t len = 0;
  bool ok = EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, opendsr_key_->pkey) == 1 &&
            EVP_DigestSignUpdate(ctx, body.data(), body.size()) == 1 && EVP_DigestSignFinal(ctx, nullptr, &len) == 1;
  if (ok) {
    sig.resize(len);
    ok = EVP_DigestSignFinal(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len) == 1;
    sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) return Status::Internal("OpenDSR signing failed");
  return util::Base64Encode(sig);
}

std::string Notifier::SignLethe(const std::string& secret, const std::string& body) {
  return "sha256=" + notify::HmacSha256Hex(secret, body);
}

Status Notifier::Send(const Message& m, const std::string& delivery_id) {
  if (m.channel == "email") return SendMail(m, delivery_id);
  if (m.channel == "webhook") return SendWebhook(m, delivery_id);
  return Status::Invalid("unknown channel \"" + m.channel + "\"");
}

Status Notifier::SendMail(const Message& m, const std::string& delivery_id) {
  if (smtp_url_.empty()) return Status::Unavailable("no notify.smtp configured");
  if (m.to.empty()) return Status::Invalid("mail without recipients");
  for (const auto& a : m.to) {
    if (!PlausibleAddress(a)) return Status::Invalid("mail recipient is not a plausible address");
  }
  std::string domain = opendsr_domain_.empty() ? "lethe.invalid" : opendsr_domain_;
  std::string to_header;
  for (const auto& a : m.to) to_header += (to_header.empty() ? "" : ", ") + a;
  std::string msg;
  msg += "Date: " + Rfc5322Date(Now()) + "\r\n";
  msg += "Message-ID: <" + delivery_id + "@" + domain + ">\r\n";
  msg += "From: " + smtp_from_ + "\r\n";
  msg += "To: " + to_header + "\r\n";
  msg += "Subject: " + EncodeHeaderText(OneLine(m.subject)) + "\r\n";
  msg += "MIME-Version: 1.0\r\n";
  msg += "Content-Type: text/plain; charset=utf-8\r\n";
  msg += "Content-Transfer-Encoding: 8bit\r\n";
  // Tells auto-responders not to answer (RFC 3834).
  msg += "Auto-Submitted: auto-generated\r\n";
  msg += "\r\n";
  msg += Crlf(m.body);

  CURL* c = curl_easy_init();
  if (c == nullptr) return Status::Internal("curl_easy_init failed");
  curl_slist* rcpt = nullptr;
  for (const auto& a : m.to) rcpt = curl_slist_append(rcpt, ("<" + a + ">").c_str());
  std::string from = "<" + smtp_from_ + ">";
  Upload up{&msg};
  curl_easy_setopt(c, CURLOPT_URL, smtp_url_.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadUpload);
  curl_easy_setopt(c, CURLOPT_READDATA, &up);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  // With a password, TLS or nothing: a server (or someone in between) that
  // does not offer STARTTLS must not get the credentials in clear. Without
  // one, STARTTLS whenever the server offers it.
  curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(smtp_requires_tls() ? CURLUSESSL_ALL : CURLUSESSL_TRY));
  if (!smtp_user_.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, smtp_user_.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, smtp_password_.c_str());
  }
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(c);
  if (rc == CURLE_USE_SSL_FAILED)
    return Status::Unavailable(
        "smtp: the server offers no TLS (STARTTLS), and with notify.smtp.password_env set "
        "Lethe sends credentials only over TLS; nothing was sent");
  if (rc != CURLE_OK) return Status::Unavailable(std::string("smtp: ") + curl_easy_strerror(rc));
  return Status::Ok();
}

Status Notifier::SendWebhook(const Message& m, const std::string& delivery_id) {
  // "Expect:" turns off curl's 100-continue round trip, which some small
  // receivers never answer.
  std::vector<std::string> headers = {"Content-Type: application/json", "User-Agent: lethe",
                                      "Expect:", "X-Lethe-Delivery: " + OneLine(delivery_id)};
  std::string pin;  // CURLOPT_RESOLVE entry for OpenDSR callbacks
  if (m.signing == "hmac") {
    std::string secret;
    bool found = false;
    for (const auto& [name, value] : secrets_) {
      if (name == m.secret_env) {
        secret = value;
        found = true;
      }
    }
    if (!found) {
      const char* v = std::getenv(m.secret_env.c_str());
      if (v == nullptr) return Status::Unavailable("webhook secret " + m.secret_env + " is not set");
      secret = v;
    }
    headers.push_back("X-Lethe-Signature: " + SignLethe(secret, m.payload));
  } else if (m.signing == "opendsr") {
    // The URL was checked when the request came in; DNS may point
    // elsewhere now, so check again and connect to what was checked.
    LETHE_RETURN_IF_ERROR(CheckCallbackUrl(m.url, &pin));
    headers.push_back("X-OpenDSR-Processor-Domain: " + opendsr_domain_);
    headers.push_back("X-OpenGDPR-Processor-Domain: " + opendsr_domain_);
    if (can_sign_opendsr()) {
      LETHE_ASSIGN_OR_RETURN(auto sig, SignOpenDsr(m.payload));
      headers.push_back("X-OpenDSR-Signature: " + sig);
      headers.push_back("X-OpenGDPR-Signature: " + sig);
    }
  } else if (!m.signing.empty()) {
    return Status::Invalid("unknown signing \"" + m.signing + "\"");
  }

  CURL* c = curl_easy_init();
  if (c == nullptr) return Status::Internal("curl_easy_init failed");
  curl_slist* hl = nullptr;
  for (const auto& h : headers) hl = curl_slist_append(hl, h.c_str());
  curl_slist* resolve = pin.empty() ? nullptr : curl_slist_append(nullptr, pin.c_str());
  if (resolve != nullptr) curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
  curl_easy_setopt(c, CURLOPT_URL, m.url.c_str());
  // Callback URLs can come from outside (OpenDSR requests): only web
  // protocols, no redirects to elsewhere.
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, m.payload.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(m.payload.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Discard);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  CURLcode rc = curl_easy_perform(c);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(hl);
  curl_easy_cleanup(c);
  curl_slist_free_all(resolve);
  if (rc != CURLE_OK) return Status::Unavailable(std::string("webhook: ") + curl_easy_strerror(rc));
  if (code < 200 || code > 299) return Status::Unavailable("webhook answered HTTP " + std::to_string(code));
  return Status::Ok();
}

}  // namespace lethe
