// GraphExecutor: access and portability exports (see graph_executor.h).
#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "exec/export_package.h"
#include "exec/graph_executor.h"
#include "exec/retention.h"

namespace lethe::exec {

using nlohmann::json;

namespace {

std::string HtmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

json SubjectJson(const Subject& s) {
  json j = json::object();
  if (!s.email.empty()) j["email"] = s.email;
  if (!s.user_id.empty()) j["user_id"] = s.user_id;
  if (!s.phone.empty()) j["phone"] = s.phone;
  for (const auto& [k, v] : s.custom) j[k] = v;
  return j;
}

}  // namespace

Result<Outcome> GraphExecutor::Export(const Request& r) {
  const bool portability = r.type == RequestType::kPortability;
  const auto& nodes = g_->nodes();
  auto include = [&](size_t i) { return !portability || nodes[i].spec->portable; };
  if (opt_.exports_dir.empty()) return Status::Invalid("no exports directory configured", "/exports/dir");
  LETHE_ASSIGN_OR_RETURN(auto pkg_r, exec::ExportPackage::Create(opt_.exports_dir, r.id));
  exec::ExportPackage& pkg = *pkg_r;

  std::vector<int64_t> records(nodes.size(), 0);
  std::vector<std::string> data_path(nodes.size());
  std::vector<std::vector<Item>> objects(nodes.size());  // metadata only; content is streamed later
  long open_node = -1;
  auto close_open = [&]() -> Status {
    if (open_node < 0) return Status::Ok();
    open_node = -1;
    LETHE_RETURN_IF_ERROR(pkg.Write("\n]\n"));
    return pkg.End();
  };
  auto found = Discover(
      *g_, r.subject,
      [&](size_t i, const Item& item) -> Status {
        if (!include(i)) return Status::Ok();
        const GraphNode& node = nodes[i];
        if (open_node != static_cast<long>(i)) {
          LETHE_RETURN_IF_ERROR(close_open());
          data_path[i] = pkg.SafePath("data/" + node.connector->name(), node.spec->name + ".json");
          LETHE_RETURN_IF_ERROR(pkg.Begin(data_path[i]));
          LETHE_RETURN_IF_ERROR(pkg.Write("["));
          open_node = static_cast<long>(i);
        }
        json rec = item.fields.is_object() ? item.fields : json{{"value", item.fields}};
        for (const auto& col : node.spec->omit) rec.erase(col);
        if (node.spec->objects && !item.key.empty()) {
          std::string fp = pkg.SafePath("files/" + node.connector->name(), item.key);
          rec["file"] = fp;
          Item meta = item;
          meta.fields = {{"file", fp}};
          objects[i].push_back(std::move(meta));
        }
        std::string line = (records[i] == 0 ? "\n" : ",\n") + rec.dump(-1, ' ', false, json::error_handler_t::replace);
        ++records[i];
        return pkg.Write(line);
      },
      opt_.batch);
  if (!found.ok()) return found.status();
  LETHE_RETURN_IF_ERROR(close_open());

  int64_t object_count = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const Item& obj : objects[i]) {
      std::string fp = obj.fields["file"].get<std::string>();
      LETHE_RETURN_IF_ERROR(pkg.Begin(fp));
      Status st =
          nodes[i].connector->ReadObject(*nodes[i].spec, obj, [&](std::string_view chunk) { return pkg.Write(chunk); });
      LETHE_RETURN_IF_ERROR(st);
      LETHE_RETURN_IF_ERROR(pkg.End());
      ++object_count;
    }
  }

  json sources = json::array();
  int64_t total = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!include(i)) continue;
    const CollectionSpec& c = *nodes[i].spec;
    json s = {{"connector", nodes[i].connector->name()},
              {"collection", c.name},
              {"records", records[i]},
              {"categories", c.categories},
              {"purpose", c.purpose},
              {"retention", RetentionJson(c)},
              {"portable", c.portable}};
    if (!data_path[i].empty()) s["file"] = data_path[i];
    sources.push_back(std::move(s));
    total += records[i];
  }
  // What an earlier erasure kept of this subject under retention: found in
  // the ledger by the keyed pseudonyms of the request's identities.
  LETHE_ASSIGN_OR_RETURN(auto kept, exec::KeptFor(store_, exec::SubjectRefs(opt_.hash_key, r.subject)));
  const std::string generated_at = FormatRfc3339(Now());
  LETHE_RETURN_IF_ERROR(pkg.Add("report.html", Report(r, sources, kept, generated_at)));
  json manifest = {{"request",
                    {{"id", r.id},
                     {"type", ToString(r.type)},
                     {"regulation", ToString(r.regulation)},
                     {"received_at", FormatRfc3339(r.received_at)}}},
                   {"subject", SubjectJson(r.subject)},
                   {"generated_at", generated_at},
                   {"format", "lethe-export/1"},
                   {"sources", sources},
                   {"kept", kept},
                   {"recipients", opt_.recipients},
                   {"files", pkg.files()}};
  LETHE_RETURN_IF_ERROR(pkg.Add("manifest.json", manifest.dump(2)));
  LETHE_ASSIGN_OR_RETURN(auto published, pkg.Publish(opt_.export_password));

  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!include(i)) continue;
    Task t;
    t.request_id = r.id;
    t.connector = nodes[i].connector->name();
    t.collection = nodes[i].spec->name;
    t.action = "export";
    t.status = "done";
    t.rows = records[i];
    t.attempts = 1;
    t.updated_at = Now();
    LETHE_RETURN_IF_ERROR(store_.SaveTask(t));
  }
  spdlog::info("export published request={} records={} objects={}", r.id, total, object_count);
  Outcome out;
  out.type = r.type;
  out.export_path = published;
  out.records = total;
  out.objects = object_count;
  out.files = static_cast<int64_t>(pkg.files().size()) + 1;  // with manifest.json
  out.sources = static_cast<int64_t>(sources.size());
  out.encrypted = !opt_.export_password.empty();
  return out;
}

// The readable Art. 15 report: what we hold, why, for how long, who gets
// it, where it came from, and what the subject can do about it.
std::string GraphExecutor::Report(const Request& r, const json& sources, const json& kept,
                                  const std::string& generated_at) const {
  std::set<std::string> purposes, categories;
  for (const auto& s : sources) {
    if (!s["purpose"].get<std::string>().empty()) purposes.insert(s["purpose"].get<std::string>());
    for (const auto& c : s["categories"]) categories.insert(c.get<std::string>());
  }
  std::string h;
  h += "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Your personal data</title>\n";
  h += "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.5}"
       "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}</style>"
       "</head><body>\n";
  h += "<h1>" +
       std::string(r.type == RequestType::kPortability ? "Your data, ready to take elsewhere"
                                                       : "The personal data we hold about you") +
       "</h1>\n";
  h += "<p>Request <code>" + HtmlEscape(r.id) + "</code>, received " + HtmlEscape(FormatRfc3339(r.received_at)) +
       ", answered " + HtmlEscape(generated_at) +
       ". The files in <code>data/</code> hold the records themselves "
       "(JSON); <code>manifest.json</code> lists every file with its SHA-256.</p>\n";
  h += "<h2>Why we process it (purposes)</h2><ul>";
  if (purposes.empty()) h += "<li>No purposes recorded.</li>";
  for (const auto& p : purposes) h += "<li>" + HtmlEscape(p) + "</li>";
  h += "</ul>\n<h2>Categories of data</h2><ul>";
  if (categories.empty()) h += "<li>No categories recorded.</li>";
  for (const auto& c : categories) h += "<li>" + HtmlEscape(c) + "</li>";
  h += "</ul>\n<h2>Recipients</h2><ul>";
  if (RecipientNames().empty()) h += "<li>We do not disclose your data to other recipients.</li>";
  for (const auto& n : RecipientNames()) h += "<li>" + HtmlEscape(n) + "</li>";
  h += "</ul>\n<h2>Where the data is and how long we keep it</h2>\n"
       "<table><tr><th>Source</th><th>Records</th><th>Categories</th><th>Purpose</th><th>Retention</th></tr>\n";
  for (const auto& s : sources) {
    std::string cats;
    for (const auto& c : s["categories"]) cats += (cats.empty() ? "" : ", ") + c.get<std::string>();
    std::string ret = "Until you ask us to erase it or the purpose ends";
    if (s["retention"].is_object()) {
      ret = "Kept for " + s["retention"].value("period", std::string("the required period")) + " (" +
            s["retention"]["basis"].get<std::string>() + ")";
      if (s["retention"].contains("note")) ret += ": " + s["retention"]["note"].get<std::string>();
    }
    h += "<tr><td>" + HtmlEscape(s["connector"].get<std::string>() + " / " + s["collection"].get<std::string>()) +
         "</td><td>" + std::to_string(s["records"].get<int64_t>()) + "</td><td>" + HtmlEscape(cats) + "</td><td>" +
         HtmlEscape(s["purpose"].get<std::string>()) + "</td><td>" + HtmlEscape(ret) + "</td></tr>\n";
  }
  h += "</table>\n";
  if (!kept.empty()) {
    h += "<h2>Kept after an earlier erasure</h2>\n<p>You asked us before to erase your data. The law "
         "requires us to keep the following for a while; we delete it when that period ends.</p><ul>\n";
    for (const auto& k : kept) h += "<li>" + HtmlEscape(KeptSentence(k)) + "</li>\n";
    h += "</ul>\n";
  }
  h += "<h2>Where the data came from</h2><p>From you, and from your use of our service. "
       "We do not make decisions about you based solely on automated processing, including profiling.</p>\n";
  h += "<h2>Your rights</h2><ul>"
       "<li>Rectification: ask us to correct inaccurate data or complete it (Art. 16 GDPR).</li>"
       "<li>Erasure: ask us to delete your data (Art. 17), except where the law requires us to keep it.</li>"
       "<li>Restriction: ask us to limit processing to storage (Art. 18).</li>"
       "<li>Objection: object to processing based on legitimate interests or for direct marketing (Art. 21).</li>"
       "<li>Portability: receive the data you provided in a machine-readable format (Art. 20).</li>"
       "<li>Withdraw consent at any time, without affecting processing before the withdrawal.</li>"
       "<li>Complain to a data protection supervisory authority, in particular in the country where you live or "
       "work or where an infringement happened (Art. 77).</li></ul>\n</body></html>\n";
  return h;
}

// "3 invoices, kept until 2033-03-31, EU tax law".
std::string GraphExecutor::KeptSentence(const json& k) {
  int64_t n = k.value("records", int64_t{0});
  std::string what = k.value("collection", "");
  if (n == 1 && what.size() > 1 && what.back() == 's') what.pop_back();
  std::string s = std::to_string(n) + " " + what + ", kept until ";
  s += k["until"].is_string() ? k["until"].get<std::string>() : std::string("the end of the legal period");
  std::string why = k.value("note", "");
  if (why.empty()) why = k.value("basis", "");
  if (!why.empty()) s += ", " + why;
  return s;
}

}  // namespace lethe::exec
