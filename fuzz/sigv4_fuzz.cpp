// The SigV4 canonicaliser (connectors/s3/sigv4.*). Object keys and listing
// tokens come from the S3 server, so the path and query are any bytes.
//
// Input lines: the path, the query ("name=value&name=value", taken raw), the
// host header's value, an x-amz-meta header's value.
//
// Properties: UriEncode keeps only unreserved characters and %XX (and '/'
// in paths) and decodes back to its input; the canonical query is sorted;
// the canonical request has exactly one line per part and per header, with
// trimmed, space-collapsed values; the signature is 64 lowercase hex digits
// and does not change when the query is reordered, header names change case,
// or header values gain surrounding or repeated spaces.
#include <algorithm>
#include <string>

#include "fuzz_check.h"
#include "s3/sigv4.h"

namespace {

using lethe::s3::SigV4Request;
using lethe::s3::UriEncode;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // lowercase hex is not SigV4's form
}

void CheckEncoding(const std::string& s, bool keep_slash) {
  const std::string enc = UriEncode(s, keep_slash);
  std::string dec;
  for (size_t i = 0; i < enc.size(); ++i) {
    const unsigned char c = enc[i];
    const bool unreserved = std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved || (keep_slash && c == '/')) {
      dec += static_cast<char>(c);
      continue;
    }
    FUZZ_CHECK(c == '%', "only unreserved characters and %XX escapes");
    FUZZ_CHECK(i + 2 < enc.size(), "an escape has two digits");
    const int hi = HexValue(enc[i + 1]), lo = HexValue(enc[i + 2]);
    FUZZ_CHECK(hi >= 0 && lo >= 0, "escapes use uppercase hex");
    dec += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  FUZZ_CHECK(dec == s, "UriEncode decodes back to its input");
}

std::vector<std::pair<std::string, std::string>> ParseQuery(const std::string& q) {
  std::vector<std::pair<std::string, std::string>> out;
  if (q.empty()) return out;
  for (const std::string& part : lethe::fuzz::Split(q, '&', 16)) {
    size_t eq = part.find('=');
    out.emplace_back(part.substr(0, eq), eq == std::string::npos ? "" : part.substr(eq + 1));
  }
  return out;
}

const lethe::s3::SigV4Credentials kCreds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"};
const std::string kDate = "20260101T000000Z";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // One value a line: header values never hold a line break (HTTP forbids it).
  std::vector<std::string> f = lethe::fuzz::Split(in, '\n');
  f.resize(4);
  const std::string& path = f[0];
  CheckEncoding(path, true);
  CheckEncoding(path, false);
  FUZZ_CHECK(UriEncode(path, false).find('/') == std::string::npos, "query encoding escapes '/'");

  SigV4Request req;
  req.method = "GET";
  req.path = path;
  req.query = ParseQuery(f[1]);
  req.headers = {{"host", f[2]},
                 {"x-amz-date", kDate},
                 {"x-amz-content-sha256", lethe::s3::Sha256Hex("")},
                 {"x-amz-meta-note", f[3]}};
  req.payload_sha256 = lethe::s3::Sha256Hex("");

  const std::string cq = lethe::s3::CanonicalQuery(req.query);
  if (!req.query.empty()) {
    // Sorted by name, then by value (not as "name=value" text: "a-=1" sorts
    // after "a=2" there). Encoded names hold no '=', so the split is exact.
    std::vector<std::pair<std::string, std::string>> pairs;
    for (const std::string& p : lethe::fuzz::Split(cq, '&', 1000)) {
      size_t eq = p.find('=');
      FUZZ_CHECK(eq != std::string::npos, "every canonical pair has a '='");
      pairs.emplace_back(p.substr(0, eq), p.substr(eq + 1));
    }
    FUZZ_CHECK(pairs.size() == req.query.size(), "one canonical pair per parameter");
    FUZZ_CHECK(std::is_sorted(pairs.begin(), pairs.end()), "canonical pairs are sorted by name, then value");
  } else {
    FUZZ_CHECK(cq.empty(), "no parameters, no query");
  }

  lethe::s3::SigV4Signature sig = lethe::s3::SignV4(req, kCreds, kDate);
  std::vector<std::string> lines = lethe::fuzz::Split(sig.canonical_request, '\n', 1000);
  FUZZ_CHECK(lines.size() == 6 + 4, "one canonical line per part and per header");
  FUZZ_CHECK(lines[0] == "GET", "the method line");
  FUZZ_CHECK(lines[1] == UriEncode(path.empty() ? "/" : path, true), "the path line");
  FUZZ_CHECK(lines[2] == cq, "the query line");
  for (size_t i = 3; i < 7; ++i) {
    const std::string& h = lines[i];
    size_t colon = h.find(':');
    FUZZ_CHECK(colon != std::string::npos, "a header line is name:value");
    const std::string v = h.substr(colon + 1);
    FUZZ_CHECK(v.empty() || (v.front() != ' ' && v.back() != ' '), "header values are trimmed");
    FUZZ_CHECK(v.find("  ") == std::string::npos && v.find('\t') == std::string::npos, "spaces are collapsed");
    if (i > 3) FUZZ_CHECK(lines[i - 1] < h, "headers are sorted");
  }
  FUZZ_CHECK(lines[7].empty(), "a blank line after the headers");
  FUZZ_CHECK(lines[8] == "host;x-amz-content-sha256;x-amz-date;x-amz-meta-note", "the signed headers");
  FUZZ_CHECK(sig.signature.size() == 64 && sig.signature.find_first_not_of("0123456789abcdef") == std::string::npos,
             "the signature is lowercase hex");

  // What must not change the signature.
  SigV4Request other = req;
  std::reverse(other.query.begin(), other.query.end());
  for (auto& [name, value] : other.headers) {
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
    value = "  " + value + " \t";
  }
  FUZZ_CHECK(lethe::s3::SignV4(other, kCreds, kDate).signature == sig.signature,
             "query order, header case and padding do not change the signature");
  return 0;
}
