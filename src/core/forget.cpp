// After an erasure completes, the engine keeps nothing of the subject but the
// receipt and the ledger of kept rows (contract §4, end; LEGAL.md, Records):
// the erasure request itself becomes a receipt (a keyed pseudonym instead of
// the identities), the subject's other requests lose their identities and
// their exports (download links then answer 410), open ones are left to finish,
// and every text the store keeps about them is scrubbed of the identity
// values, down to the file's free pages and write-ahead log.
#include <cstring>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "lethe/workflow.h"

namespace lethe {
namespace {

using nlohmann::json;

constexpr const char* kErased = "[erased]";

// Replaces identity values in free text. A short value ("42") is replaced
// only where it is the whole string: inside longer text it would also hit
// dates, counts and ids that are not the subject's.
class Scrubber {
 public:
  explicit Scrubber(std::vector<std::string> values) : values_(std::move(values)) {}

  std::string operator()(const std::string& text) const {
    std::string out = text;
    for (const std::string& v : values_) {
      if (v.empty()) continue;
      if (out == v) return kErased;
      if (v.size() < 6 && v.find('@') == std::string::npos) continue;
      for (size_t at = out.find(v); at != std::string::npos; at = out.find(v, at + std::strlen(kErased)))
        out.replace(at, v.size(), kErased);
    }
    return out;
  }

  json Json(json j) const {
    if (j.is_string()) return (*this)(j.get<std::string>());
    if (j.is_object() || j.is_array())
      for (auto& v : j) v = Json(std::move(v));
    return j;
  }

 private:
  std::vector<std::string> values_;
};

// The identities the erasure was carried out for: those proved, and those a
// keyed collection tied to them (the executor's result says which). A claimed
// but unproved identity may be someone else's: it must not lead us to erase
// their requests or exports.
Subject ErasedIdentities(const Request& r) {
  std::set<std::string> kinds = r.verified_identities;
  if (r.result.is_object() && r.result.contains("identities") && r.result["identities"].is_object()) {
    const json& used = r.result["identities"].value("used", json::array());
    for (const auto& k : used)
      if (k.is_string()) kinds.insert(k.get<std::string>());
  }
  return r.subject.Only(kinds);
}

// Whether `q` is the erased subject's own request: one of the identities it
// proved (or had tied) is one of theirs, or the same account filed it.
bool SamePerson(const Request& q, const Subject& erased, const std::string& owner) {
  if (!owner.empty() && q.owner == owner) return true;
  const Subject mine = ErasedIdentities(q);
  for (const std::string& k : mine.Kinds())
    if (!erased.Get(k).empty() && erased.Get(k) == mine.Get(k)) return true;
  return false;
}

bool IsOpen(RequestStatus s) {
  return s == RequestStatus::kUnverified || s == RequestStatus::kPending || s == RequestStatus::kApproved ||
         s == RequestStatus::kOnHold;
}

}  // namespace

std::string Workflow::OwnerRef(const std::string& owner) const {
  return owner.empty() ? "" : "ref:" + Pseudonym(policy_.pseudonym_key, "owner", owner);
}

Status Workflow::ForgetSubject(const Request& erasure, const std::string& lease_owner) {
  const Subject proved = ErasedIdentities(erasure);
  std::vector<std::string> values;
  for (const std::string& k : erasure.subject.Kinds()) values.push_back(erasure.subject.Get(k));
  if (!erasure.owner.empty()) values.push_back(erasure.owner);
  const Scrubber scrub(values);
  const Scrubber scrub_proved([&] {
    std::vector<std::string> v;
    for (const std::string& k : proved.Kinds()) v.push_back(proved.Get(k));
    if (!erasure.owner.empty()) v.push_back(erasure.owner);
    return v;
  }());

  // What stays of a request of theirs: a keyed pseudonym in place of the
  // identities and the account, and its free text scrubbed.
  auto pseudonymize = [this](Request& q, const Scrubber& s) {
    q.result["subject_ref"] = SubjectRef(q.subject);
    q.subject = Subject{};
    q.subject.custom["ref"] = q.result["subject_ref"].get<std::string>();
    q.owner = OwnerRef(q.owner);
    q.note = s(q.note);
    q.params = s.Json(q.params);
    q.result = s.Json(q.result);
  };

  LETHE_ASSIGN_OR_RETURN(auto theirs, store_.BySubject(proved, erasure.owner));
  std::vector<std::string> ids = {erasure.id};
  for (Request q : theirs) {
    const std::string qid = q.id;  // q is moved into its commit
    if (q.id == erasure.id) continue;
    if (!SamePerson(q, proved, erasure.owner)) {
      // Someone else's request that merely claims one of these values (eve
      // claiming user 42): the value goes, their request and export stay.
      json removed = json::array();
      for (const std::string& k : q.subject.Kinds()) {
        if (proved.Get(k).empty() || q.subject.Get(k) != proved.Get(k)) continue;
        q.subject.Set(k, "");
        q.verified_identities.erase(k);
        removed.push_back(k);
      }
      if (q.subject.empty()) q.subject.custom["ref"] = SubjectRef(proved);
      Event e{0,
              Now(),
              "identity_removed",
              "system",
              "an identity it claimed belonged to a subject erased by " + erasure.id,
              "",
              ""};
      auto done = Commit(std::move(q), std::move(e), {{"erasure_request", erasure.id}, {"identities", removed}});
      if (!done.ok() && done.status().code() != Code::kConflict) return done.status();
      continue;
    }
    if (q.status == RequestStatus::kInProgress || IsOpen(q.status)) {
      // Still to be carried out (or being carried out by another worker):
      // the person asked for it, so it keeps what it needs to act. A later
      // erasure of the same subject scrubs it once it has ended.
      spdlog::info("erasure {}: request {} of the same subject is still open; left until it ends", erasure.id, q.id);
      continue;
    }
    json detail = {{"erasure_request", erasure.id}};
    if (!q.export_path.empty()) {
      std::error_code ec;
      const std::filesystem::path path = q.export_path;
      bool existed = path.extension() == ".zip" && std::filesystem::remove(path, ec);
      if (ec) return Status::Io("cannot delete the export of request " + q.id + ": " + ec.message());
      q.export_path.clear();
      q.result["export_erased"] = true;
      detail["export_deleted"] = existed;
    }
    pseudonymize(q, scrub_proved);
    Event e{0, Now(), "subject_erased", "system", "identities and exports removed after erasure " + erasure.id, "", ""};
    auto done = Commit(std::move(q), std::move(e), std::move(detail));
    if (!done.ok() && done.status().code() == Code::kConflict) {
      // Changed meanwhile: another worker finishing it, or forgetting the
      // same subject for another erasure. That one scrubs it; go on.
      spdlog::info("erasure {}: request {} changed meanwhile; left to its writer", erasure.id, qid);
      continue;
    }
    if (!done.ok()) return done.status();
    ids.push_back(done->id);
  }

  // The erasure request itself becomes the receipt. Listeners have already
  // run on the completed request (the subject's confirmation is queued).
  Request receipt = erasure;
  pseudonymize(receipt, scrub);
  Event e{0, Now(), "receipt", "system", "subject identities replaced by a keyed pseudonym", "", ""};
  LETHE_ASSIGN_OR_RETURN(auto saved, Commit(std::move(receipt), std::move(e), json::object(), lease_owner));

  // Timelines, tasks and records of all of them; the outbox keeps its queued
  // mails (the erasure's confirmation must still reach the person) and drops
  // their content once they are sent.
  return store_.ScrubRequests(
      ids, [&](const std::string& text) { return scrub(text); },
      [](const Record& rec) { return rec.kind == "outbox" && rec.value.value("state", "") == "queued"; });
}

}  // namespace lethe
