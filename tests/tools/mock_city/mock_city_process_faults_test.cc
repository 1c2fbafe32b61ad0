// The mock-city program with --fault_* flags, over real mutual TLS: it starts down (UNAVAILABLE,
// health NOT_SERVING) as the flags say, and MockCityAdminService on the same port changes the faults
// while it runs; with --transport=http the same flags (transaction codes as methods) and the HTTP
// admin (POST /admin/faults). The development PKI comes from the dev_certs test fixture.
#include <httplib.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "interop/citybackend/v1/city_backend.grpc.pb.h"
#include "interop/mockcity/v1/mock_city_admin.grpc.pb.h"

namespace {

namespace backend = ::interop::citybackend::v1;
namespace admin = ::interop::mockcity::v1;
using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// One mock-city process, stopped with SIGTERM when the object goes.
class MockCityProcess {
 public:
  explicit MockCityProcess(const std::vector<std::string>& extra_flags, const std::string& city = "taiyuan") {
    char dir_template[] = "/tmp/mock_city_faults_XXXXXX";
    dir_ = mkdtemp(dir_template);
    const std::string certs = INTEROP_TEST_CERTS_DIR;
    std::vector<std::string> argv = {
        INTEROP_MOCK_CITY_BIN,
        absl::StrCat("--city=", city),
        absl::StrCat("--dialect=", INTEROP_SOURCE_DIR, "/adapters/", city, "/dialect.textproto"),
        "--listen=127.0.0.1:0",
        absl::StrCat("--ca=", certs, "/ca.pem"),
        absl::StrCat("--cert=", certs, "/city-", city, ".pem"),
        absl::StrCat("--key=", certs, "/city-", city, ".key"),
        "--persons_per_city=200",
        absl::StrCat("--port_file=", dir_, "/port")};
    argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
    const std::string log = dir_ + "/mock-city.log";
    pid_ = fork();
    if (pid_ == 0) {
      std::freopen(log.c_str(), "a", stdout);
      std::freopen(log.c_str(), "a", stderr);
      std::vector<char*> args;
      for (std::string& arg : argv) args.push_back(arg.data());
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    const absl::Time give_up = absl::Now() + absl::Seconds(60);
    while (absl::Now() < give_up && port_ == 0) {
      if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile(dir_ + "/port")), &port_)) port_ = 0;
      int status = 0;
      if (port_ == 0 && waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (port_ == 0) ADD_FAILURE() << "mock-city did not start:\n" << ReadFile(log);
  }
  ~MockCityProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }

  // A channel presenting the gateway's client certificate.
  std::shared_ptr<grpc::Channel> Channel() const {
    const std::string certs = INTEROP_TEST_CERTS_DIR;
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFile(certs + "/ca.pem");
    ssl.pem_cert_chain = ReadFile(certs + "/gateway.pem");
    ssl.pem_private_key = ReadFile(certs + "/gateway.key");
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port_), grpc::SslCredentials(ssl), args);
  }

  int port() const { return port_; }

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// grpc.health.v1.Health/Check for the whole server: 1 SERVING, 2 NOT_SERVING, -1 on error.
int Health(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub generic(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  grpc::Slice empty;
  grpc::ByteBuffer request(&empty, 1), response;
  absl::Notification done;
  grpc::Status status;
  generic.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                    [&](grpc::Status s) {
                      status = std::move(s);
                      done.Notify();
                    });
  done.WaitForNotification();
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!status.ok() || !response.Dump(&slices).ok()) return -1;
  for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return bytes.size() == 2 && bytes[0] == '\x08' ? bytes[1] : -1;
}

grpc::Status Locate(backend::CityBackendService::Stub& stub) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  backend::LocatePersonRequest request;
  request.set_resident_id("140105198001010011");  // well-formed; found or not, the answer is OK
  backend::LocatePersonResponse response;
  return stub.LocatePerson(&context, request, &response);
}

TEST(MockCityProcessFaultsTest, FlagsSetTheFaultsAndTheAdminServiceChangesThemOverMutualTls) {
  MockCityProcess mock({"--fault_down", "--fault_seed=5", "--fault_error_code=internal",
                        "--fault_methods=LocatePerson, GetMedicalEnrollment"});
  ASSERT_NE(mock.port(), 0);
  std::shared_ptr<grpc::Channel> channel = mock.Channel();
  auto stub = backend::CityBackendService::NewStub(channel);
  auto admin_stub = admin::MockCityAdminService::NewStub(channel);

  // Down from the start.
  EXPECT_EQ(Health(channel), 2);
  grpc::Status status = Locate(*stub);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("down"));
  {
    grpc::ClientContext context;
    admin::GetFaultsResponse faults;
    ASSERT_TRUE(admin_stub->GetFaults(&context, admin::GetFaultsRequest(), &faults).ok());
    EXPECT_TRUE(faults.settings().down());
    EXPECT_EQ(faults.settings().seed(), 5u);
    EXPECT_EQ(faults.settings().error_code(), "INTERNAL");
    EXPECT_THAT(faults.settings().methods(), ::testing::ElementsAre("LocatePerson", "GetMedicalEnrollment"));
    EXPECT_EQ(faults.counters().refused_down(), 1u);
  }

  // Up again, failing every LocatePerson with INTERNAL instead.
  {
    grpc::ClientContext context;
    admin::SetFaultsRequest request;
    request.mutable_settings()->set_error_rate(1.0);
    request.mutable_settings()->set_error_code("INTERNAL");
    request.mutable_settings()->add_methods("LocatePerson");
    admin::SetFaultsResponse response;
    ASSERT_TRUE(admin_stub->SetFaults(&context, request, &response).ok());
  }
  EXPECT_EQ(Health(channel), 1);
  EXPECT_EQ(Locate(*stub).error_code(), grpc::StatusCode::INTERNAL);

  // No faults.
  {
    grpc::ClientContext context;
    admin::ResetFaultsResponse response;
    ASSERT_TRUE(admin_stub->ResetFaults(&context, admin::ResetFaultsRequest(), &response).ok());
  }
  status = Locate(*stub);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST(MockCityProcessFaultsTest, OverHttpTheFlagsSetTheFaultsAndTheHttpAdminChangesThem) {
  MockCityProcess mock({"--transport=http", "--fault_down", "--fault_seed=5", "--fault_error_code=aborted",
                        "--fault_methods=2207A, 1101"},
                       "lvliang");
  ASSERT_NE(mock.port(), 0);
  const std::string certs = INTEROP_TEST_CERTS_DIR;
  httplib::SSLClient client("127.0.0.1", mock.port(), certs + "/gateway.pem", certs + "/gateway.key");
  client.set_ca_cert_path((certs + "/ca.pem").c_str());
  client.enable_server_certificate_verification(true);
  const std::string locate =
      R"({"infno": "L9101", "msgid": "141100202611270000000000000001", "inf_time": "2026-11-27 10:00:00", )"
      R"("input": {"data": {"psn_cert_type": "01", "certno": "140105198001010011"}}})";
  const std::string call_service = "/fsi/api/rsfComIfsService/callService";

  // Down from the start.
  httplib::Result health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503);
  EXPECT_EQ(health->body, "NOT_SERVING");
  httplib::Result call = client.Post(call_service.c_str(), locate, "application/json");
  ASSERT_TRUE(call);
  EXPECT_EQ(call->status, 503);
  httplib::Result faults = client.Get("/admin/faults");
  ASSERT_TRUE(faults);
  EXPECT_EQ(faults->status, 200);
  EXPECT_THAT(faults->body, HasSubstr(R"("down":true)"));
  EXPECT_THAT(faults->body, HasSubstr(R"("error_code":"ABORTED")"));
  EXPECT_THAT(faults->body, HasSubstr(R"("methods":["2207A","1101"])"));
  EXPECT_THAT(faults->body, HasSubstr(R"("seed":"5")"));

  // Up again, failing every L9101 with an envelope error instead.
  httplib::Result set = client.Post(
      "/admin/faults", R"({"settings": {"error_rate": 1, "error_code": "NOT_FOUND", "methods": ["L9101"]}})",
      "application/json");
  ASSERT_TRUE(set);
  EXPECT_EQ(set->status, 200) << set->body;
  health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  call = client.Post(call_service.c_str(), locate, "application/json");
  ASSERT_TRUE(call);
  EXPECT_EQ(call->status, 200);
  EXPECT_THAT(call->body, HasSubstr(R"("infcode":-1)"));
  EXPECT_THAT(call->body, HasSubstr("E1001:injected fault"));

  // No faults.
  httplib::Result reset = client.Post("/admin/faults/reset", "", "application/json");
  ASSERT_TRUE(reset);
  EXPECT_EQ(reset->status, 200);
  call = client.Post(call_service.c_str(), locate, "application/json");
  ASSERT_TRUE(call);
  EXPECT_EQ(call->status, 200);
  EXPECT_THAT(call->body, HasSubstr(R"("infcode":0)"));
}

}  // namespace
