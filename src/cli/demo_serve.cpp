#include "cli/demo_serve.h"

#include <chrono>
#include <optional>

#include "lethe/engine.h"
#include "lethe/time.h"

#ifdef HAVE_LETHE_HTTP
#include "http/server.h"
#endif

namespace lethe::cli {

namespace {

struct Seed {
  RequestType type;
  Regulation regulation;
  const char* channel;
  const char* email;
  const char* user_id;
  bool verified;
  int days_ago;
  const char* note;
};

// The other users' requests: one of each kind of situation an operator
// meets, so the inbox's badges, filters and actions have something to show.
// Ada's (user 42) are left to the subject on the settings page.
const Seed kSeeds[] = {
    {RequestType::kErasure, Regulation::kGdpr, "email", "grace@example.com", "43", true, 5,
     "Asked by email to close her account and delete everything."},
    // LGPD's 15 calendar days, 13 gone: due within three days (amber).
    {RequestType::kAccess, Regulation::kLgpd, "web_form", "alan@example.com", "44", false, 13,
     "Web form from Brazil; identity not confirmed yet."},
    // CCPA's 45 days, 50 gone: overdue (red).
    {RequestType::kAccess, Regulation::kCcpa, "phone", "katherine@example.com", "45", true, 50,
     "Phone call from California; wants to know what we sell (nothing)."},
    {RequestType::kRectification, Regulation::kGdpr, "email", "emmy@example.com", "46", true, 2,
     "Name should read Amalie Emmy Noether."},
    {RequestType::kObjection, Regulation::kUkGdpr, "email", "former-customer@example.org", "", false, 12,
     "Objects to marketing e-mails."},
};

}  // namespace

Status SeedDemoRequests(const Config& config) {
  LETHE_ASSIGN_OR_RETURN(auto engine, Engine::Open(config));
  Time now = Now();
  for (const Seed& s : kSeeds) {
    NewRequest in;
    in.type = s.type;
    in.regulation = s.regulation;
    in.channel = s.channel;
    in.subject.email = s.email;
    in.subject.user_id = s.user_id;
    in.verified = s.verified;
    in.received_at = now - std::chrono::days(s.days_ago);
    in.note = s.note;
    if (s.type == RequestType::kRectification) in.params = {{"name", "Amalie Emmy Noether"}};
    LETHE_ASSIGN_OR_RETURN(auto r, engine->workflow->Submit(in, "demo"));
  }
  return Status::Ok();
}

Status ServeDemo(const Config& config, const std::string& listen) {
#ifdef HAVE_LETHE_HTTP
  http::ServeOptions opts;
  opts.listen = listen;
  opts.workers = true;
  // Short intervals: the demo's erasure grace is minutes, and a subject
  // watching the settings page should not wait long for an export.
  opts.worker_interval = std::chrono::milliseconds(1000);
  return http::ServeConfig(config, std::move(opts));
#else
  return Status::Unavailable("demo: this build has no HTTP server");
#endif
}

}  // namespace lethe::cli
