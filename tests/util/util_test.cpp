// Table tests for the one-helper-each library (src/util): each case is a
// vector from the defining text (RFC 4648 §10, RFC 3986 §2) or a name that
// must stay out of SQL text and paths.
#include <catch2/catch.hpp>

#include "lethe/util/base64.h"
#include "lethe/util/names.h"
#include "lethe/util/uri.h"

using namespace lethe::util;

TEST_CASE("base64: RFC 4648 §10 test vectors, standard and url-safe") {
  const std::pair<const char*, const char*> kVectors[] = {{"", ""},
                                                          {"f", "Zg=="},
                                                          {"fo", "Zm8="},
                                                          {"foo", "Zm9v"},
                                                          {"foob", "Zm9vYg=="},
                                                          {"fooba", "Zm9vYmE="},
                                                          {"foobar", "Zm9vYmFy"}};
  for (auto [plain, encoded] : kVectors) {
    INFO(plain);
    CHECK(Base64Encode(plain) == encoded);
    std::string url = encoded;
    while (!url.empty() && url.back() == '=') url.pop_back();
    CHECK(Base64UrlEncode(plain) == url);
    std::string back;
    REQUIRE(Base64UrlDecode(url, &back));
    CHECK(back == plain);
  }
  // The two alphabets differ in 62 and 63 (§4 vs §5).
  CHECK(Base64Encode("\xfb\xff") == "+/8=");
  CHECK(Base64UrlEncode("\xfb\xff") == "-_8");
}

TEST_CASE("base64url decoding is strict: one value, one encoding") {
  std::string out;
  CHECK_FALSE(Base64UrlDecode("Zm9v=", &out));  // padding is not part of JWT base64url
  CHECK_FALSE(Base64UrlDecode("+/8", &out));    // standard alphabet
  CHECK_FALSE(Base64UrlDecode("Zm9vY", &out));  // length 4k+1 cannot occur
  CHECK_FALSE(Base64UrlDecode("Zh", &out));     // "f" is "Zg": leftover bits must be zero
  CHECK_FALSE(Base64UrlDecode("Zm 9v", &out));  // no white space
  CHECK(Base64UrlDecode("Zg", &out));
  CHECK(out == "f");
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  REQUIRE(Base64UrlDecode(Base64UrlEncode(all), &out));
  CHECK(out == all);
}

TEST_CASE("percent-encoding keeps only RFC 3986 unreserved characters") {
  CHECK(PercentEncode("AZaz09-._~") == "AZaz09-._~");
  CHECK(PercentEncode("a b/c") == "a%20b%2Fc");
  CHECK(PercentEncode("a b/c", true) == "a%20b/c");
  CHECK(PercentEncode("ü") == "%C3%BC");     // UTF-8 bytes, upper-case hex (SigV4 wants upper)
  CHECK(PercentEncode("%2F") == "%252F");    // already-encoded text is encoded again
  CHECK(PercentEncode("../x") == "..%2Fx");  // a dot segment cannot become a path step
  CHECK(PercentEncode(std::string("a\0b", 3)) == "a%00b");
}

TEST_CASE("names: one rule each, ASCII only") {
  struct Case {
    const char* name;
    bool plain, sql, dotted;
  };
  const Case kCases[] = {
      {"users", true, true, true},
      {"user_id", true, true, true},
      {"a-b", true, false, true},
      {"9lives", true, false, true},  // SQL identifiers cannot start with a digit
      {"_x", true, true, true},
      {"a.b", false, false, true},
      {"a..b", false, false, false},  // never a step upward
      {"..", false, false, false},
      {"", false, false, false},
      {"a b", false, false, false},
      {"a;drop", false, false, false},
      {"a\"b", false, false, false},
      {"a/b", false, false, false},
      {"caf\xc3\xa9", false, false, false},  // letters of other scripts stay out
      {"a\nb", false, false, false},
  };
  for (const auto& c : kCases) {
    INFO(c.name);
    CHECK(IsPlainName(c.name) == c.plain);
    CHECK(IsSqlIdentifier(c.name) == c.sql);
    CHECK(IsDottedName(c.name) == c.dotted);
  }
  const std::string long_name(129, 'a');
  CHECK_FALSE(IsPlainName(long_name));
  CHECK_FALSE(IsSqlIdentifier(long_name));
  CHECK(IsPlainName(long_name, 512));
  CHECK_FALSE(IsPlainName("abcd", 3));
}
