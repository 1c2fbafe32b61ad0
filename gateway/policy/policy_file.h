// PolicyFile: the access policy as read from its file, reloaded when the file changes.
//
// Current() is what calls use: a snapshot that stays valid for the caller even if a reload swaps
// in a new one meanwhile. ReloadIfChanged() is cheap (one stat) and is called periodically by the
// server; a new file that does not parse or validate is refused with an error and the policy in
// force stays.
//
// Thread-safe.
#ifndef INTEROP_GATEWAY_POLICY_POLICY_FILE_H_
#define INTEROP_GATEWAY_POLICY_POLICY_FILE_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "gateway/policy/access_policy.h"

namespace interop::policy {

class PolicyFile {
 public:
  // Loads `path`. Errors: NOT_FOUND if unreadable; INVALID_ARGUMENT from AccessPolicy, prefixed with
  // the path.
  static absl::StatusOr<std::unique_ptr<PolicyFile>> Open(const std::string& path);

  std::shared_ptr<const AccessPolicy> Current() const;

  // Reloads if the file's modification time or size changed. Returns true if a new policy is now in
  // force; an error if the changed file was refused (the old policy stays).
  absl::StatusOr<bool> ReloadIfChanged();

 private:
  explicit PolicyFile(std::string path) : path_(std::move(path)) {}
  absl::StatusOr<std::shared_ptr<const AccessPolicy>> Load(std::string* stamp) const;

  const std::string path_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const AccessPolicy> current_ ABSL_GUARDED_BY(mu_);
  std::string stamp_ ABSL_GUARDED_BY(mu_);  // mtime and size of the file last attempted
};

}  // namespace interop::policy

#endif  // INTEROP_GATEWAY_POLICY_POLICY_FILE_H_
