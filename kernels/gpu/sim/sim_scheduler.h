// Inside the simulated device: runs a grid, one block at a time, each GPU thread
// a fiber (sim_scheduler.cpp). The runtime (sim_runtime.cpp) calls it.
#pragma once
#include <functional>
#include <string>

#include "kernels/gpu/sim/sim_device.h"

namespace gmg::sim {

// Runs `body` in every thread of the grid; empty, or what went wrong (a deadlock,
// lanes of a warp at different shuffles, a shuffle that reads an exited lane).
std::string run_grid(const LaunchConfig& config, const std::function<void()>& body);

// GMG_SIM_WARP: 32 (default) or 64, the warp the simulated device reports and runs.
int configured_warp_size();

}  // namespace gmg::sim
