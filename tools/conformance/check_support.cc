#include "tools/conformance/check_support.h"

#include "google/protobuf/descriptor.h"

namespace interop::conformance {

std::vector<std::string> DifferingFields(const google::protobuf::Message& a,
                                         const google::protobuf::Message& b) {
  std::vector<std::string> fields;
  const google::protobuf::Descriptor* descriptor = a.GetDescriptor();
  // `message` with every field but `kept` cleared.
  auto only = [descriptor](const google::protobuf::Message& message,
                           const google::protobuf::FieldDescriptor* kept) {
    std::unique_ptr<google::protobuf::Message> copy(message.New());
    copy->CopyFrom(message);
    for (int i = 0; i < descriptor->field_count(); ++i) {
      if (descriptor->field(i) != kept) copy->GetReflection()->ClearField(copy.get(), descriptor->field(i));
    }
    return copy->SerializeAsString();
  };
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = descriptor->field(i);
    if (only(a, field) != only(b, field)) fields.push_back(field->name());
  }
  return fields;
}

bool SameMessage(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return a.SerializeAsString() == b.SerializeAsString();
}

}  // namespace interop::conformance
