// Worlds on the real test services (scripts/services.sh): a fresh
// PostgreSQL schema and a fresh Chroma collection per test case, removed
// afterwards, so test runs never see each other's data. S3 buckets are in
// s3_bucket.h (they need the s3 connector's client).
#pragma once

#include <curl/curl.h>
#include <libpq-fe.h>

#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/support.h"

namespace lethe::test {

// A schema of its own on LETHE_PG_DSN; the connection's search_path is set
// to it, so Exec("CREATE TABLE t ...") lands there.
class PgSchema {
 public:
  PgSchema() {
    conn_ = PQconnectdb(ServiceEnv("LETHE_PG_DSN").c_str());
    REQUIRE(PQstatus(conn_) == CONNECTION_OK);
    Exec("SET client_min_messages = warning");
    name_ = UniqueName("lethe_t");
    Exec("DROP SCHEMA IF EXISTS " + name_ + " CASCADE");
    Exec("CREATE SCHEMA " + name_);
    Exec("SET search_path = " + name_);
  }
  ~PgSchema() {
    PQclear(PQexec(conn_, ("DROP SCHEMA IF EXISTS " + name_ + " CASCADE").c_str()));
    PQfinish(conn_);
  }
  PgSchema(const PgSchema&) = delete;
  PgSchema& operator=(const PgSchema&) = delete;

  void Exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    ExecStatusType st = PQresultStatus(r);
    std::string err = PQresultErrorMessage(r);
    PQclear(r);
    INFO(sql << ": " << err);
    REQUIRE((st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK));
  }
  // The first column of the first row as text, "<null>" for NULL or no row.
  std::string Scalar(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    REQUIRE(PQresultStatus(r) == PGRES_TUPLES_OK);
    std::string v = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "<null>";
    PQclear(r);
    return v;
  }

  const std::string& name() const { return name_; }

 private:
  PGconn* conn_ = nullptr;
  std::string name_;
};

inline const std::string kChromaDb = "/api/v2/tenants/default_tenant/databases/default_database";

// One call to LETHE_CHROMA_URL's HTTP API, for set-up and checks. Fails the
// test on a transport error, and on a non-2xx answer unless `code` is given.
inline nlohmann::json ChromaCall(const std::string& method, const std::string& path,
                                 const nlohmann::json& body = nullptr, long* code = nullptr) {
  CURL* c = curl_easy_init();
  REQUIRE(c != nullptr);
  std::string url = ServiceEnv("LETHE_CHROMA_URL") + path, payload = body.is_null() ? "" : body.dump(), out;
  curl_slist* h = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (!body.is_null()) curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload.c_str());
  curl_easy_setopt(
      c, CURLOPT_WRITEFUNCTION, +[](char* p, size_t s, size_t n, void* ud) {
        static_cast<std::string*>(ud)->append(p, s * n);
        return s * n;
      });
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  REQUIRE(rc == CURLE_OK);
  if (code) *code = status;
  INFO(method << " " << path << " -> " << status << " " << out);
  if (!code) REQUIRE((status >= 200 && status < 300));
  return out.empty() ? nlohmann::json(nullptr) : nlohmann::json::parse(out);
}

// A fresh, empty Chroma collection in the default tenant and database.
class ChromaCollection {
 public:
  ChromaCollection() {
    name_ = UniqueName("lethe_t");
    nlohmann::json created = ChromaCall("POST", kChromaDb + "/collections", {{"name", name_}});
    id_ = created["id"].get<std::string>();
  }
  ~ChromaCollection() {
    long code = 0;
    ChromaCall("DELETE", kChromaDb + "/collections/" + name_, nullptr, &code);
  }
  ChromaCollection(const ChromaCollection&) = delete;
  ChromaCollection& operator=(const ChromaCollection&) = delete;

  // POST .../add with {"ids", "embeddings", "documents", "metadatas"}.
  void Add(const nlohmann::json& body) { ChromaCall("POST", kChromaDb + "/collections/" + id_ + "/add", body); }
  // POST .../get with `body`.
  nlohmann::json Get(const nlohmann::json& body) {
    return ChromaCall("POST", kChromaDb + "/collections/" + id_ + "/get", body);
  }

  const std::string& name() const { return name_; }
  const std::string& id() const { return id_; }

 private:
  std::string name_;
  std::string id_;
};

}  // namespace lethe::test
