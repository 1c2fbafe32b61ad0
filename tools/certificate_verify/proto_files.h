// Reading and writing saved certificates and trust lists: binary protobuf, or protobuf text format
// when the file name ends in ".textproto", ".txtpb" or ".pbtxt".
#ifndef INTEROP_TOOLS_CERTIFICATE_VERIFY_PROTO_FILES_H_
#define INTEROP_TOOLS_CERTIFICATE_VERIFY_PROTO_FILES_H_

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace interop::certificate_verify {

// True if `path` names a text-format file.
bool IsTextFormatPath(const std::string& path);

// NOT_FOUND if the file cannot be read; INVALID_ARGUMENT naming the file if it does not parse as
// `message`'s type in the format its name says.
absl::Status ReadProtoFile(const std::string& path, google::protobuf::Message* message);

// Writes `message` in the format the name says, through a temporary file and a rename.
absl::Status WriteProtoFile(const std::string& path, const google::protobuf::Message& message);

}  // namespace interop::certificate_verify

#endif  // INTEROP_TOOLS_CERTIFICATE_VERIFY_PROTO_FILES_H_
