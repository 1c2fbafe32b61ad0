# interop_proto_library(NAME name PROTOS a.proto b.proto [GRPC] [DEPS lib...] [ROOT dir])
# Generates C++ (and, with GRPC, gRPC service stubs) for protos given relative to ROOT (default
# protos/), into a static library whose include root is the generated directory.
function(interop_proto_library)
  cmake_parse_arguments(ARG "GRPC" "NAME;ROOT" "PROTOS;DEPS" ${ARGN})
  set(proto_root "${PROJECT_SOURCE_DIR}/protos")
  if(ARG_ROOT)
    set(proto_root "${ARG_ROOT}")
  endif()
  set(out_root "${PROJECT_BINARY_DIR}/generated")
  file(MAKE_DIRECTORY "${out_root}")
  set(srcs)
  foreach(rel IN LISTS ARG_PROTOS)
    get_filename_component(dir "${rel}" DIRECTORY)
    get_filename_component(base "${rel}" NAME_WE)
    set(outs "${out_root}/${dir}/${base}.pb.cc" "${out_root}/${dir}/${base}.pb.h")
    set(plugin_args)
    if(ARG_GRPC)
      list(APPEND outs "${out_root}/${dir}/${base}.grpc.pb.cc" "${out_root}/${dir}/${base}.grpc.pb.h"
                       "${out_root}/${dir}/${base}_mock.grpc.pb.h")
      set(plugin_args --grpc_out=generate_mock_code=true:${out_root}
                      --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>)
    endif()
    add_custom_command(
      OUTPUT ${outs}
      COMMAND protobuf::protoc ARGS -I "${proto_root}" -I "${PROJECT_SOURCE_DIR}/protos" -I "${INTEROP_GOOGLEAPIS_PROTO_DIR}" --cpp_out=${out_root} ${plugin_args} "${proto_root}/${rel}"
      DEPENDS "${proto_root}/${rel}" protobuf::protoc
      COMMENT "protoc ${rel}"
      VERBATIM)
    list(APPEND srcs ${outs})
  endforeach()
  add_library(${ARG_NAME} STATIC ${srcs})
  target_include_directories(${ARG_NAME} PUBLIC "${out_root}")
  target_link_libraries(${ARG_NAME} PUBLIC protobuf::libprotobuf ${ARG_DEPS})
  if(ARG_GRPC)
    target_link_libraries(${ARG_NAME} PUBLIC gRPC::grpc++)
  endif()
  # Generated code is not ours to warn about.
  target_compile_options(${ARG_NAME} PRIVATE -w)
endfunction()
