// Every limit the HTTP side puts on a client, in one place, each with why
// (Beast's advanced server example keeps its queue_limit the same way).
// ServeOptions (server.h) and ServiceOptions (service.h) take their
// defaults from here; tests shorten some. docs/api.md tells clients the
// ones they can hit.
#pragma once

#include <chrono>
#include <cstddef>

namespace lethe::http {

// --- One request on the wire (server.cpp) ---------------------------------

// Largest request body; beyond it 413. Every body Lethe reads is a small
// JSON document (a request, an action's reason, an OpenDSR filing), a few
// KiB at most; 1 MiB leaves room for a rectification's field list while
// capping what one connection can make the server hold in memory.
inline constexpr size_t kBodyLimit = 1024 * 1024;

// Request line plus header fields; beyond it the request is refused as
// malformed. Twice Beast's 8 KiB default: a subject's JWT travels in
// Authorization and, with its claims, can run to a few KiB.
inline constexpr size_t kHeaderLimit = 16 * 1024;

// Pipelining: none queued. A session reads the next request only after the
// reply to the previous one is written, so one connection has at most one
// request in flight (Beast's example queues up to 8). Browsers and HTTP
// client libraries do not pipeline, and a reply cannot overtake another.

// A whole request, header and body. A 1 MiB body arrives well within it on
// any working link; a client that trickles bytes (slowloris) loses the
// connection instead of holding a session open.
inline constexpr std::chrono::seconds kReadTimeout{30};

// A whole response. Longer than reads: an export zip streams from disk and
// may be large, and the client may be slow to take it.
inline constexpr std::chrono::seconds kWriteTimeout{120};

// After a reply sent before the body was read (413, or 401/403/404 to an
// Expect: 100-continue), the client may still be sending. Read and drop
// that for up to this long, or this many bytes, in chunks of kDrainChunk,
// so that closing does not reset the connection before the client reads
// the reply; a client still sending past either bound will not read it.
inline constexpr std::chrono::seconds kDrainTimeout{5};
inline constexpr size_t kDrainMaxBytes = 64 * kBodyLimit;
inline constexpr size_t kDrainChunk = 64 * 1024;

// --- The server as a whole (server.cpp) ------------------------------------

// IO threads when ServeOptions::threads is 0: one per core. Handlers are
// short store calls, so more threads than cores buy nothing; background
// work (workers, scheduler) has a thread of its own.
inline constexpr int kIoThreadsPerCore = 1;

// The listen backlog is the system's (SOMAXCONN): connections the kernel
// holds before accept are cheap, and refusing them earlier helps no one.

// On SIGTERM, how long in-flight requests get to finish before their
// connections are closed. Requests are short; ten seconds ends well within
// systemd's and Kubernetes' default stop grace (90 s and 30 s).
inline constexpr std::chrono::seconds kStopDrainTimeout{10};

// Background pacing: due requests are looked for this often (a request
// approved in the inbox starts within it), and the scheduler (reminders,
// deadline mails, purges, outbox) ticks this often; its work is due in
// minutes and days, not seconds.
inline constexpr std::chrono::milliseconds kWorkerInterval{2000};
inline constexpr std::chrono::milliseconds kSchedulerInterval{15000};

// --- Per caller (service.cpp) ----------------------------------------------

// Submissions (routes marked rate_limited) per subject: a burst of 10, then
// one a minute. A person files a handful of requests in a lifetime; more
// is a script filling the inbox in their name.
inline constexpr double kSubjectBurst = 10;
inline constexpr double kSubjectPerSecond = 1.0 / 60;

// Per operator key: a bulk import or a controller forwarding OpenDSR
// filings may send hundreds at once; the cap stops a runaway loop, not work.
inline constexpr double kOperatorBurst = 300;
inline constexpr double kOperatorPerSecond = 100;

// Retry-After on 429: the time a subject's bucket takes to refill one
// submission (1 / kSubjectPerSecond); an operator is told the same.
inline constexpr int kRetryAfterSeconds = 60;

// /metrics reuses its store scan this long: Store::Stats reads every
// request, and scrapers polling every few seconds must not each cause one.
inline constexpr double kMetricsCacheSeconds = 5;

// --- Per request (handlers_*.cpp) -------------------------------------------

// ?limit= on list endpoints: at most this many requests per page, so one
// call cannot make the store read and the server render the whole table.
inline constexpr int kMaxPageSize = 500;

// A received_at / submitted_time may be this far in the future: the
// caller's clock may run a little ahead of ours; a deadline computed from
// a time further ahead would be the caller's to choose.
inline constexpr std::chrono::minutes kClockSkew{5};

}  // namespace lethe::http
