// In-process counters for /metrics. Lock-free on the request path: one
// atomic add per bucket an observation falls into.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace lethe::http {

class LatencyHistogram {
 public:
  static constexpr std::array<double, 12> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,   0.25,   0.5,   1,    2.5,   10};
  void Observe(double seconds);
  // Prometheus text lines for a histogram named `name` (cumulative buckets).
  std::string Render(const std::string& name, const std::string& help) const;

 private:
  std::array<std::atomic<uint64_t>, kBounds.size()> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};
};

}  // namespace lethe::http
