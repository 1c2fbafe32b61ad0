#include "tools/certificate_verify/proto_files.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"

namespace interop::certificate_verify {

bool IsTextFormatPath(const std::string& path) {
  return absl::EndsWith(path, ".textproto") || absl::EndsWith(path, ".txtpb") || absl::EndsWith(path, ".pbtxt");
}

absl::Status ReadProtoFile(const std::string& path, google::protobuf::Message* message) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("\"", path, "\": cannot be read"));
  std::ostringstream contents;
  contents << in.rdbuf();
  const bool text = IsTextFormatPath(path);
  const bool parsed = text ? google::protobuf::TextFormat::ParseFromString(contents.str(), message)
                           : message->ParseFromString(contents.str());
  if (!parsed) {
    return absl::InvalidArgumentError(absl::StrCat("\"", path, "\": not a ", message->GetTypeName(), " in ",
                                                   text ? "protobuf text format" : "binary protobuf"));
  }
  return absl::OkStatus();
}

absl::Status WriteProtoFile(const std::string& path, const google::protobuf::Message& message) {
  std::string bytes;
  if (IsTextFormatPath(path)) {
    if (!google::protobuf::TextFormat::PrintToString(message, &bytes)) {
      return absl::InternalError("cannot print the message in text format");
    }
  } else if (!message.SerializeToString(&bytes)) {
    return absl::InternalError("cannot serialize the message");
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << bytes;
    if (!out) return absl::InternalError(absl::StrCat("\"", tmp, "\": cannot be written"));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("\"", path, "\": cannot be written"));
  }
  return absl::OkStatus();
}

}  // namespace interop::certificate_verify
