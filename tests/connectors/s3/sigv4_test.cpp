// SigV4 signing checked against published vectors: AWS's aws-sig-v4-test-suite
// (AKIDEXAMPLE, 20150830T123600Z, us-east-1, service "service") and the S3
// developer guide's signed GET Object / ListObjects examples. Each step is
// compared, so a failure says which line of the canonical request is wrong.
#include <catch2/catch.hpp>

#include "s3/sigv4.h"

using lethe::s3::CanonicalQuery;
using lethe::s3::SignV4;
using lethe::s3::SigV4Credentials;
using lethe::s3::SigV4Request;
using lethe::s3::UriEncode;

namespace {

const SigV4Credentials kSuite{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service"};
const char* kSuiteDate = "20150830T123600Z";
const char* kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const char* kSuiteCredential = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";

SigV4Request SuiteGet(std::string path) {
  SigV4Request r;
  r.method = "GET";
  r.path = std::move(path);
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kSuiteDate}};
  r.payload_sha256 = kEmpty;
  return r;
}

}  // namespace

TEST_CASE("sigv4: suite get-vanilla", "[sigv4]") {
  auto sig = SignV4(SuiteGet("/"), kSuite, kSuiteDate);
  CHECK(sig.canonical_request ==
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + std::string(kEmpty));
  CHECK(sig.string_to_sign ==
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
        "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  CHECK(sig.signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  CHECK(sig.authorization == std::string(kSuiteCredential) +
                                 ", SignedHeaders=host;x-amz-date, "
                                 "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST_CASE("sigv4: suite get-vanilla-query-order-key-case sorts the query", "[sigv4]") {
  SigV4Request r = SuiteGet("/");
  r.query = {{"Param2", "value2"}, {"Param1", "value1"}};
  auto sig = SignV4(r, kSuite, kSuiteDate);
  CHECK(sig.canonical_request.substr(0, sig.canonical_request.find("\nhost")) == "GET\n/\nParam1=value1&Param2=value2");
  CHECK(sig.string_to_sign.substr(sig.string_to_sign.rfind('\n') + 1) ==
        "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0");
  CHECK(sig.signature == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST_CASE("sigv4: suite get-utf8 encodes the path once with uppercase hex", "[sigv4]") {
  auto sig = SignV4(SuiteGet("/\xE1\x88\xB4"), kSuite, kSuiteDate);
  CHECK(sig.canonical_request.rfind("GET\n/%E1%88%B4\n\n", 0) == 0);
  CHECK(sig.string_to_sign.substr(sig.string_to_sign.rfind('\n') + 1) ==
        "2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102");
}

TEST_CASE("sigv4: suite post-x-www-form-urlencoded signs the body hash and content-type", "[sigv4]") {
  SigV4Request r;
  r.method = "POST";
  r.path = "/";
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
               {"Host", "example.amazonaws.com"},
               {"X-Amz-Date", kSuiteDate}};
  r.payload_sha256 = lethe::s3::Sha256Hex("Param1=value1");
  CHECK(r.payload_sha256 == "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  auto sig = SignV4(r, kSuite, kSuiteDate);
  CHECK(sig.string_to_sign.substr(sig.string_to_sign.rfind('\n') + 1) ==
        "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281");
  CHECK(sig.authorization == std::string(kSuiteCredential) +
                                 ", SignedHeaders=content-type;host;x-amz-date, "
                                 "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

TEST_CASE("sigv4: header values are trimmed and inner spaces collapsed", "[sigv4]") {
  SigV4Request a = SuiteGet("/");
  a.headers.push_back({"My-Header1", "  value1   with  spaces "});
  SigV4Request b = SuiteGet("/");
  b.headers.push_back({"my-header1", "value1 with spaces"});
  auto sa = SignV4(a, kSuite, kSuiteDate);
  CHECK(sa.canonical_request.find("my-header1:value1 with spaces\n") != std::string::npos);
  CHECK(sa.signature == SignV4(b, kSuite, kSuiteDate).signature);
}

// The S3 developer guide's examples (AKIAIOSFODNN7EXAMPLE, 20130524T000000Z).
TEST_CASE("sigv4: S3 guide GET Object with Range", "[sigv4]") {
  SigV4Credentials creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"};
  SigV4Request r;
  r.method = "GET";
  r.path = "/test.txt";
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Range", "bytes=0-9"},
               {"x-amz-content-sha256", kEmpty},
               {"x-amz-date", "20130524T000000Z"}};
  r.payload_sha256 = kEmpty;
  auto sig = SignV4(r, creds, "20130524T000000Z");
  CHECK(sig.string_to_sign.substr(sig.string_to_sign.rfind('\n') + 1) ==
        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  CHECK(sig.authorization ==
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST_CASE("sigv4: S3 guide ListObjects with an unsorted query", "[sigv4]") {
  SigV4Credentials creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"};
  SigV4Request r;
  r.method = "GET";
  r.path = "/";
  r.query = {{"prefix", "J"}, {"max-keys", "2"}};
  r.headers = {
      {"Host", "examplebucket.s3.amazonaws.com"}, {"x-amz-content-sha256", kEmpty}, {"x-amz-date", "20130524T000000Z"}};
  r.payload_sha256 = kEmpty;
  auto sig = SignV4(r, creds, "20130524T000000Z");
  CHECK(sig.signature == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");

  // The guide's GET ?lifecycle: a parameter without a value signs as "lifecycle=".
  r.query = {{"lifecycle", ""}};
  sig = SignV4(r, creds, "20130524T000000Z");
  CHECK(sig.canonical_request.find("\n/\nlifecycle=\n") != std::string::npos);
  CHECK(sig.signature == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST_CASE("sigv4: URI encoding", "[sigv4]") {
  CHECK(UriEncode("a b/c+d~e_f.g-h", true) == "a%20b/c%2Bd~e_f.g-h");
  CHECK(UriEncode("a/b", false) == "a%2Fb");
  CHECK(UriEncode("\xC3\xBC=&%", false) == "%C3%BC%3D%26%25");
  CHECK(CanonicalQuery({{"b", "2"}, {"a", "x y"}, {"A", ""}}) == "A=&a=x%20y&b=2");
}
