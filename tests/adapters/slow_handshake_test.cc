// Regression test: a city backend whose TLS handshake takes longer than the reconnect backoff must
// still be reachable on the first call. The adapter factory used to set
// GRPC_ARG_MIN_RECONNECT_BACKOFF_MS to 200 ms, which in gRPC is the minimum connect timeout: every
// handshake slower than 200 ms was cut off ("handshaker shutdown") and the call failed UNAVAILABLE.
//
// The backend is an in-process gRPC server (127.0.0.1, port 0, mutual TLS with certs/dev) answering
// grpc.health.v1 (the adapter's CheckHealth); between the adapter and the backend sits a TCP relay that holds
// every new connection for 600 ms before forwarding any byte, like a slow WAN link or a loaded city.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/adapter_factory.h"
#include "gateway/tls/tls_credentials.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "interop/citybackend/v1/city_backend.grpc.pb.h"

namespace interop::adapters {
namespace {

// Listens on 127.0.0.1 (port 0) and relays each accepted connection to 127.0.0.1:`target_port`,
// forwarding nothing in either direction until `hold` has passed since the accept. Stops, closing
// every connection, when destroyed.
class DelayingTcpRelay {
 public:
  DelayingTcpRelay(int target_port, absl::Duration hold) : target_port_(target_port), hold_(hold) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (listen_fd_ < 0) return;
    sockaddr_in addr = Loopback(0);
    socklen_t len = sizeof(addr);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(listen_fd_, 16) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      close(listen_fd_);
      listen_fd_ = -1;
      return;
    }
    port_ = ntohs(addr.sin_port);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~DelayingTcpRelay() {
    stop_.store(true);
    if (accept_thread_.joinable()) accept_thread_.join();
    std::vector<std::thread> threads;
    {
      absl::MutexLock lock(&mu_);
      threads.swap(connection_threads_);
    }
    for (std::thread& t : threads) t.join();
    if (listen_fd_ >= 0) close(listen_fd_);
  }

  // 0 if the relay could not listen.
  int port() const { return port_; }
  int connections() const { return connections_.load(); }

 private:
  static constexpr int kPollMs = 20;

  static sockaddr_in Loopback(int port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    return addr;
  }

  void AcceptLoop() {
    while (!stop_.load()) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, kPollMs) <= 0) continue;
      const int client = accept(listen_fd_, nullptr, nullptr);
      if (client < 0) continue;
      ++connections_;
      absl::MutexLock lock(&mu_);
      connection_threads_.emplace_back([this, client] { Relay(client); });
    }
  }

  void Relay(int client) {
    const absl::Time start = absl::Now();
    const int upstream = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = Loopback(target_port_);
    if (upstream < 0 || connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      if (upstream >= 0) close(upstream);
      close(client);
      return;
    }
    // The hold: whatever either side sends waits in the socket buffers.
    while (!stop_.load() && absl::Now() - start < hold_) absl::SleepFor(absl::Milliseconds(kPollMs));
    pollfd fds[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
    char buffer[16384];
    bool open = true;
    while (open && !stop_.load()) {
      if (poll(fds, 2, kPollMs) <= 0) continue;
      for (int i = 0; i < 2 && open; ++i) {
        if (fds[i].revents == 0) continue;
        const ssize_t n = recv(fds[i].fd, buffer, sizeof(buffer), 0);
        if (n <= 0) {
          open = false;
          break;
        }
        const int to = fds[1 - i].fd;
        for (ssize_t sent = 0; sent < n;) {
          const ssize_t w = send(to, buffer + sent, n - sent, MSG_NOSIGNAL);  // no SIGPIPE if closed
          if (w <= 0) {
            open = false;
            break;
          }
          sent += w;
        }
      }
    }
    close(upstream);
    close(client);
  }

  const int target_port_;
  const absl::Duration hold_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread accept_thread_;
  absl::Mutex mu_;
  std::vector<std::thread> connection_threads_ ABSL_GUARDED_BY(mu_);
};

constexpr char kCerts[] = INTEROP_SOURCE_DIR "/certs/dev/";

// Keeps `adapter`, and so its channel, alive until the process exits. A callback-API call can hold
// the last reference to its channel in gRPC's callback thread; gRPC 1.51 then shuts its callback
// completion queue down from that very thread and crashes ("assertion failed: prior > 0"), as
// tests/tools/mock_city/mock_city_service_test.cc explains.
void KeepUntilExit(std::unique_ptr<CityAdapter> adapter) {
  static auto* kept = new std::vector<std::unique_ptr<CityAdapter>>;
  static absl::Mutex mu;
  absl::MutexLock lock(&mu);
  kept->push_back(std::move(adapter));
}

class SlowHandshakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config::v1::TlsFiles server_tls;
    server_tls.set_ca_cert_file(std::string(kCerts) + "ca.pem");
    server_tls.set_cert_file(std::string(kCerts) + "city-taiyuan.pem");
    server_tls.set_key_file(std::string(kCerts) + "city-taiyuan.key");
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
        tls::MakeMutualTlsServerCredentials(server_tls);
    ASSERT_TRUE(credentials.ok()) << credentials.status();
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", *credentials, &port);
    builder.RegisterService(&backend_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    relay_ = std::make_unique<DelayingTcpRelay>(port, absl::Milliseconds(600));
    ASSERT_NE(relay_->port(), 0);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(absl::ToChronoTime(absl::Now()));
    relay_.reset();
  }

  config::v1::CityBackendConfig TaiyuanThroughRelay() const {
    config::v1::CityBackendConfig config;
    config.set_city(City::CITY_TAIYUAN);
    config.set_address(absl::StrCat("127.0.0.1:", relay_->port()));
    config.set_tls_server_name("taiyuan.city.interop.local");
    config.set_deadline_ms(5000);
    config.set_dialect_file(INTEROP_SOURCE_DIR "/adapters/taiyuan/dialect.textproto");
    config.mutable_tls()->set_ca_cert_file(std::string(kCerts) + "ca.pem");
    config.mutable_tls()->set_cert_file(std::string(kCerts) + "gateway.pem");
    config.mutable_tls()->set_key_file(std::string(kCerts) + "gateway.key");
    return config;
  }

  // Implements no RPC of the contract; the test calls only the health service beside it.
  citybackend::v1::CityBackendService::CallbackService backend_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<DelayingTcpRelay> relay_;
};

TEST_F(SlowHandshakeTest, FirstCallSucceedsWhenTheHandshakeTakesLongerThanTheReconnectBackoff) {
  absl::StatusOr<std::unique_ptr<CityAdapter>> adapter = NewCityAdapter(TaiyuanThroughRelay());
  ASSERT_TRUE(adapter.ok()) << adapter.status();
  CallOptions options;
  options.deadline = absl::Now() + absl::Seconds(5);
  options.request_id = "slow-handshake-test";
  absl::Notification done;
  absl::Status result = absl::UnknownError("no answer");
  const absl::Time start = absl::Now();
  (*adapter)->CheckHealth(options, [&](absl::Status status) {
    result = std::move(status);
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(result.ok()) << result << " after " << absl::Now() - start;
  // The call went through the relay, and so waited for its hold.
  EXPECT_GE(relay_->connections(), 1);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(500));
  KeepUntilExit(*std::move(adapter));
}

}  // namespace
}  // namespace interop::adapters
