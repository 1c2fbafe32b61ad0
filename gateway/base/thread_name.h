// Names for the gateway's own threads, as `top -H`, `perf report --sort comm`, gdb and
// /proc/<pid>/task/<tid>/comm show them, so that an operator (or a profile) can tell the access
// log's writer from the settlement ledger's or from gRPC's threads.
#ifndef INTEROP_GATEWAY_BASE_THREAD_NAME_H_
#define INTEROP_GATEWAY_BASE_THREAD_NAME_H_

#include <string>

#include "absl/strings/string_view.h"

namespace interop {

// Names the calling thread. Linux keeps at most 15 bytes of a thread's name: a longer `name` is
// cut to its first 15. Best effort: if the system refuses, the thread keeps its name.
void SetCurrentThreadName(absl::string_view name);

// The calling thread's name, "" if it cannot be read.
std::string CurrentThreadName();

}  // namespace interop

#endif  // INTEROP_GATEWAY_BASE_THREAD_NAME_H_
