// The level of a progress message the core logs (Solver::set_log_hook); lib/capi maps it to
// fw_log_level.
#pragma once

namespace fw {

enum class LogLevel { Debug, Info, Warn };

}  // namespace fw
