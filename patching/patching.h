// The patching engine's one entry point for kernel/main.cpp.
#pragma once

namespace corral {

// Registers the #BP/#DB/IPI handlers, prepares the text alias, defines the
// built-in demo patches.  Needs the scheduler and SMP up.
void patching_init();

}  // namespace corral
