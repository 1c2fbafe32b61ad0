# interop_embed_file(TARGET target FILE path SYMBOL name)
# Compiles the bytes of FILE into the target as
#   extern const char name[]; extern const std::size_t name_size;
# so that reference data travels inside the binary and needs no install path.
function(interop_embed_file)
  cmake_parse_arguments(ARG "" "TARGET;FILE;SYMBOL" "" ${ARGN})
  set(out "${CMAKE_CURRENT_BINARY_DIR}/${ARG_SYMBOL}_embedded.cc")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -DIN=${ARG_FILE} -DOUT=${out} -DSYMBOL=${ARG_SYMBOL}
            -P "${PROJECT_SOURCE_DIR}/cmake/EmbedFileScript.cmake"
    DEPENDS "${ARG_FILE}" "${PROJECT_SOURCE_DIR}/cmake/EmbedFileScript.cmake"
    COMMENT "embedding ${ARG_FILE}"
    VERBATIM)
  target_sources(${ARG_TARGET} PRIVATE "${out}")
endfunction()
