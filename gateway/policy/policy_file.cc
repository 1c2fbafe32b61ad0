#include "gateway/policy/policy_file.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gateway/base/rich_status.h"

namespace interop::policy {
namespace {

std::string FileStamp(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return std::string();
  return absl::StrCat(st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, ":", st.st_size, ":", st.st_ino);
}

}  // namespace

absl::StatusOr<std::shared_ptr<const AccessPolicy>> PolicyFile::Load(std::string* stamp) const {
  *stamp = FileStamp(path_);
  std::ifstream in(path_);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read access policy \"", path_, "\""));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<std::shared_ptr<const AccessPolicy>> policy = AccessPolicy::FromText(text.str());
  if (!policy.ok()) return WithMessagePrefix(policy.status(), path_);
  return policy;
}

absl::StatusOr<std::unique_ptr<PolicyFile>> PolicyFile::Open(const std::string& path) {
  std::unique_ptr<PolicyFile> file(new PolicyFile(path));
  std::string stamp;
  absl::StatusOr<std::shared_ptr<const AccessPolicy>> policy = file->Load(&stamp);
  if (!policy.ok()) return policy.status();
  absl::MutexLock lock(&file->mu_);
  file->current_ = *std::move(policy);
  file->stamp_ = stamp;
  return file;
}

std::shared_ptr<const AccessPolicy> PolicyFile::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

absl::StatusOr<bool> PolicyFile::ReloadIfChanged() {
  {
    absl::MutexLock lock(&mu_);
    if (FileStamp(path_) == stamp_) return false;
  }
  std::string stamp;
  absl::StatusOr<std::shared_ptr<const AccessPolicy>> policy = Load(&stamp);
  absl::MutexLock lock(&mu_);
  stamp_ = stamp;  // a refused file is not retried until it changes again
  if (!policy.ok()) return policy.status();
  current_ = *std::move(policy);
  return true;
}

}  // namespace interop::policy
