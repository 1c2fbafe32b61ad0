# The mock city over HTTP/JSON in the national medical-insurance interface's envelope (how Lvliang's
# backend speaks; adapters/lvliang/NATIONAL_INTERFACE.md): cpp-httplib with mutual TLS, JSON by
# nlohmann. Included from CMakeLists.txt beside it; mock-city serves it with --transport=http. Fault
# injection and its admin (POST/GET /admin/faults) reuse the gRPC mock's (fault_injector, mock_city_admin).
find_package(PkgConfig REQUIRED)
pkg_check_modules(CPP_HTTPLIB REQUIRED IMPORTED_TARGET GLOBAL cpp-httplib)  # libcpp-httplib-dev
find_package(nlohmann_json 3 REQUIRED GLOBAL)                               # nlohmann-json3-dev
find_package(OpenSSL 3 REQUIRED)

add_library(interop_mock_http_backend STATIC http_backend.cc)
target_link_libraries(interop_mock_http_backend
  PUBLIC interop_mock_population interop_mock_medical_ledger interop_mock_mobility_records interop_mock_certificate_signer interop_mock_fault_injector interop_city_dialect interop_identity interop_base absl::status absl::statusor
    absl::synchronization absl::time
  PRIVATE interop_mock_city_admin interop_mock_city_admin_proto interop_google_rpc_proto
  PRIVATE PkgConfig::CPP_HTTPLIB nlohmann_json::nlohmann_json OpenSSL::SSL absl::str_format absl::strings)
