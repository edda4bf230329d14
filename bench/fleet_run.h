// One fleet of N `print(i)` members submitted to an open engine and timed until it is terminal
// (bounded: 600 s): the work both fan-out benches measure, on whichever log store the engine has.
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <string>
#include <thread>

#include "actors/engine.h"

namespace enclave::bench {

using Steady = std::chrono::steady_clock;

inline double seconds_since(Steady::time_point t0) {
  return std::chrono::duration<double>(Steady::now() - t0).count();
}

struct FleetRun {
  std::string error;       // non-empty: the fleet could not be created
  std::string phase;       // its phase when the wait ended ("" if never read)
  double submit_s = 0;     // create_fleet answered
  double total_s = 0;      // every member terminal (or the bound)
  uint64_t succeeded = 0;  // members that succeeded
};

inline FleetRun run_fleet(Engine& engine, uint64_t n) {
  api::CreateFleetRequest req;
  req.set_name("fanout");
  for (uint64_t i = 0; i < n; ++i) req.add_members()->set_code("print(" + std::to_string(i) + ")");
  const Principal p = default_principal();
  FleetRun run;
  const auto t0 = Steady::now();
  std::promise<Result<api::Fleet>> created;
  engine.create_fleet(p, req, [&](Result<api::Fleet> r) { created.set_value(std::move(r)); });
  auto f = created.get_future().get();
  if (!f) {
    run.error = f.error().message;
    return run;
  }
  run.submit_s = seconds_since(t0);
  // Polled: the bench reads the fleet as a client would; the sleep paces the reads, it does not
  // order anything.
  while (seconds_since(t0) < 600) {
    run.phase = engine.get_fleet(p, f->id(), /*members=*/false)->phase();
    if (run.phase == "completed" || run.phase == "partial" || run.phase == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  run.total_s = seconds_since(t0);
  auto done = engine.get_fleet(p, f->id(), /*members=*/false);
  run.succeeded = done ? done->counts().succeeded() : 0;
  return run;
}

}  // namespace enclave::bench
