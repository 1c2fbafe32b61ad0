// HttpsClient: asynchronous HTTPS/1.1 requests to one backend over mutual TLS, with connection reuse,
// on libcurl's multi interface.
//
// One event thread per client drives every transfer (curl_multi_poll); Send() only queues the
// request and wakes that thread, so callers (gRPC reactor threads) never block on I/O. Connections
// are kept alive in the multi handle's connection cache and reused by later requests; at most
// `max_connections` are open at once (more requests wait for a free one, first come first served,
// within their deadline).
//
//   HttpsClientOptions options;
//   options.address = "127.0.0.1:7105";  options.server_name = "localhost";
//   options.ca_pem = ...; options.cert_pem = ...; options.key_pem = ...;
//   absl::StatusOr<std::unique_ptr<HttpsClient>> client = HttpsClient::Create(std::move(options));
//   (*client)->Send(request, [](absl::StatusOr<HttpsResponse> response) { ... });
//
// TLS: the client presents `cert_pem`/`key_pem`, trusts only `ca_pem` (not the system store), checks
// that the server's certificate names `server_name` (or the host of `address`), and speaks TLS 1.2 or
// later. Only https is ever used; redirects are not followed.
//
// Thread-safe. Callbacks run on the client's event thread: they must not block, and must not destroy
// the client.
#ifndef INTEROP_ADAPTERS_LVLIANG_HTTPS_CLIENT_H_
#define INTEROP_ADAPTERS_LVLIANG_HTTPS_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace interop::adapters::lvliang {

struct HttpsRequest {
  // "GET" or "POST".
  std::string method = "POST";
  // Absolute path with query, starting with '/'.
  std::string path;
  // For POST: the body and its content type.
  std::string content_type;
  std::string body;
  // Extra request headers (name, value).
  std::vector<std::pair<std::string, std::string>> headers;
  // The request fails with DEADLINE_EXCEEDED if no complete response has arrived by then.
  absl::Time deadline = absl::InfiniteFuture();
};

struct HttpsResponse {
  // HTTP status code.
  int status = 0;
  // The Content-Type header, "" if none.
  std::string content_type;
  std::string body;
};

using HttpsCallback = std::function<void(absl::StatusOr<HttpsResponse>)>;

// What an adapter needs of an HTTPS client; tests may substitute a fake.
class HttpsTransport {
 public:
  virtual ~HttpsTransport() = default;

  // Sends `request` and calls `done` exactly once: with the response (any HTTP status), or with
  // DEADLINE_EXCEEDED (request.deadline passed), UNAVAILABLE (cannot connect, TLS handshake or
  // verification failed, connection lost, client shutting down), OUT_OF_RANGE (response larger than
  // the client's limit) or INVALID_ARGUMENT (a malformed request). Never blocks.
  virtual void Send(HttpsRequest request, HttpsCallback done) = 0;
};

struct HttpsClientOptions {
  // "host:port" to connect to (IPv6 as "[::1]:port").
  std::string address;
  // Name the server's certificate must carry; "" means the host of `address`.
  std::string server_name;
  // PEM: the CA(s) the server's certificate must chain to, this client's certificate chain and key.
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
  // Most connections open to the backend at once.
  int max_connections = 8;
  // A connection idle for longer is not reused (closed instead); keep it below the server's
  // keep-alive timeout so that a request never races the server closing the connection.
  absl::Duration max_idle = absl::Seconds(20);
  // Responses larger than this fail with OUT_OF_RANGE.
  size_t max_response_bytes = 8 << 20;
};

// Counters since the client was made.
struct HttpsClientStats {
  uint64_t requests_completed = 0;  // transfers finished, successfully or not
  uint64_t connections_opened = 0;  // new TCP+TLS connections (CURLINFO_NUM_CONNECTS summed)
};

class HttpsClient final : public HttpsTransport {
 public:
  // INVALID_ARGUMENT for a malformed address or missing PEM; INTERNAL if libcurl cannot be set up.
  // The PEMs are checked when the first connection is made (a bad key fails that request with
  // UNAVAILABLE).
  static absl::StatusOr<std::unique_ptr<HttpsClient>> Create(HttpsClientOptions options);

  // Fails requests still queued or in flight with UNAVAILABLE, then joins the event thread.
  ~HttpsClient() override;

  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  void Send(HttpsRequest request, HttpsCallback done) override;

  HttpsClientStats stats() const;

 private:
  struct Transfer;
  struct CurlState;

  explicit HttpsClient(HttpsClientOptions options);
  // libcurl's write callback: appends to the transfer's body, up to its limit.
  static size_t WriteBody(char* data, size_t size, size_t count, void* user);
  void Run();
  // On the event thread: sets up and adds `transfer` to the multi handle, or completes it at once.
  void Start(std::unique_ptr<Transfer> transfer);
  // On the event thread: ends the waiting requests whose deadline passed, and starts the oldest
  // waiting ones while fewer than max_connections are in flight.
  void StartWaiting();
  // On the event thread: completes every finished transfer.
  void Reap();

  const HttpsClientOptions options_;
  std::string url_prefix_;  // "https://server_name:port"
  std::string connect_to_;  // CURLOPT_CONNECT_TO entry, "" if not needed
  std::unique_ptr<CurlState> curl_;

  absl::Mutex mu_;
  std::deque<std::unique_ptr<Transfer>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  std::atomic<uint64_t> requests_completed_{0};
  std::atomic<uint64_t> connections_opened_{0};
  std::thread thread_;
};

}  // namespace interop::adapters::lvliang

#endif  // INTEROP_ADAPTERS_LVLIANG_HTTPS_CLIENT_H_
