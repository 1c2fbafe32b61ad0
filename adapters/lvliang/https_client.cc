#include "adapters/lvliang/https_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <climits>
#include <map>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gateway/base/thread_name.h"

namespace interop::adapters::lvliang {
namespace {

bool HasControlCharacter(absl::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

}  // namespace

// One request in flight. Owned by the event thread once queued.
struct HttpsClient::Transfer {
  HttpsRequest request;
  HttpsCallback done;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string url;
  std::string body;
  size_t max_body = 0;
  bool too_large = false;
  char error[CURL_ERROR_SIZE] = {0};

  ~Transfer() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (headers != nullptr) curl_slist_free_all(headers);
  }

  // Calls `done` once.
  void Finish(absl::StatusOr<HttpsResponse> result) {
    HttpsCallback callback = std::move(done);
    done = nullptr;
    if (callback) callback(std::move(result));
  }
};

// libcurl handles, used only on the event thread (and in the destructor, after it has ended).
struct HttpsClient::CurlState {
  CURLM* multi = nullptr;
  CURLSH* share = nullptr;  // TLS session cache shared by all transfers
  curl_slist* connect_to = nullptr;
  std::map<CURL*, std::unique_ptr<Transfer>> in_flight;
  // Sent, waiting for one of the max_connections, first come first served. Handed to libcurl only
  // when a connection is free: libcurl's own queue of transfers over its connection limit does not
  // serve them in order (under load some waited until their deadline while later ones went
  // through), and every curl_multi_perform() walks it.
  std::deque<std::unique_ptr<Transfer>> waiting;

  ~CurlState() {
    waiting.clear();
    for (auto& [easy, transfer] : in_flight) curl_multi_remove_handle(multi, easy);
    in_flight.clear();
    if (multi != nullptr) curl_multi_cleanup(multi);
    if (share != nullptr) curl_share_cleanup(share);
    if (connect_to != nullptr) curl_slist_free_all(connect_to);
  }
};

size_t HttpsClient::WriteBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  if (transfer->body.size() + bytes > transfer->max_body) {
    transfer->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  transfer->body.append(data, bytes);
  return bytes;
}

namespace {

// curl_blob for a PEM held by the client for its whole life.
curl_blob Blob(const std::string& pem) {
  curl_blob blob;
  blob.data = const_cast<char*>(pem.data());
  blob.len = pem.size();
  blob.flags = CURL_BLOB_NOCOPY;
  return blob;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpsClient>> HttpsClient::Create(HttpsClientOptions options) {
  static std::once_flag global_init;
  static CURLcode global_init_result = CURLE_OK;
  std::call_once(global_init, [] { global_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (global_init_result != CURLE_OK) {
    return absl::InternalError(absl::StrCat("libcurl: ", curl_easy_strerror(global_init_result)));
  }

  // "host:port" or "[v6]:port".
  absl::string_view address = options.address;
  std::string host;
  absl::string_view port_text;
  if (!address.empty() && address.front() == '[') {
    size_t close = address.find("]:");
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("address: \"", address, "\" is not host:port"));
    }
    host = std::string(address.substr(0, close + 1));
    port_text = address.substr(close + 2);
  } else {
    size_t colon = address.rfind(':');
    if (colon == absl::string_view::npos || colon == 0) {
      return absl::InvalidArgumentError(absl::StrCat("address: \"", address, "\" is not host:port"));
    }
    host = std::string(address.substr(0, colon));
    port_text = address.substr(colon + 1);
  }
  int port = 0;
  if (!absl::SimpleAtoi(port_text, &port) || port <= 0 || port > 65535 || HasControlCharacter(host) ||
      host.find_first_of(" /?#@") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("address: \"", address, "\" is not host:port"));
  }
  if (options.server_name.find_first_of(" /?#@:") != std::string::npos ||
      HasControlCharacter(options.server_name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("server_name: \"", options.server_name, "\" is not a host name"));
  }
  if (options.ca_pem.empty()) return absl::InvalidArgumentError("ca_pem: is required");
  if (options.cert_pem.empty()) return absl::InvalidArgumentError("cert_pem: is required");
  if (options.key_pem.empty()) return absl::InvalidArgumentError("key_pem: is required");
  if (options.max_connections < 1) options.max_connections = 1;

  std::unique_ptr<HttpsClient> client(new HttpsClient(std::move(options)));
  const std::string& name = client->options_.server_name.empty() ? host : client->options_.server_name;
  client->url_prefix_ = absl::StrCat("https://", name, ":", port);
  if (name != host) client->connect_to_ = absl::StrCat(name, ":", port, ":", host, ":", port);

  auto state = std::make_unique<CurlState>();
  state->multi = curl_multi_init();
  state->share = curl_share_init();
  if (state->multi == nullptr || state->share == nullptr)
    return absl::InternalError("libcurl: cannot make handles");
  // The share handle is used from the event thread only, so it needs no lock callbacks.
  curl_share_setopt(state->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  curl_share_setopt(state->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  const long max_connections = client->options_.max_connections;
  curl_multi_setopt(state->multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_connections);
  curl_multi_setopt(state->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, max_connections);
  curl_multi_setopt(state->multi, CURLMOPT_MAXCONNECTS, max_connections);
  curl_multi_setopt(state->multi, CURLMOPT_PIPELINING, CURLPIPE_NOTHING);
  if (!client->connect_to_.empty()) {
    state->connect_to = curl_slist_append(nullptr, client->connect_to_.c_str());
    if (state->connect_to == nullptr) return absl::InternalError("libcurl: out of memory");
  }
  client->curl_ = std::move(state);
  client->thread_ = std::thread([c = client.get()] { SetCurrentThreadName("lvliang-https"); c->Run(); });
  return client;
}

HttpsClient::HttpsClient(HttpsClientOptions options) : options_(std::move(options)) {}

HttpsClient::~HttpsClient() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (curl_ != nullptr) curl_multi_wakeup(curl_->multi);
  if (thread_.joinable()) thread_.join();
}

void HttpsClient::Send(HttpsRequest request, HttpsCallback done) {
  auto transfer = std::make_unique<Transfer>();
  transfer->request = std::move(request);
  transfer->done = std::move(done);
  transfer->max_body = options_.max_response_bytes;
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      queue_.push_back(std::move(transfer));
    }
  }
  if (transfer != nullptr) {
    transfer->Finish(absl::UnavailableError("the HTTPS client is shutting down"));
    return;
  }
  curl_multi_wakeup(curl_->multi);
}

HttpsClientStats HttpsClient::stats() const {
  HttpsClientStats stats;
  stats.requests_completed = requests_completed_.load();
  stats.connections_opened = connections_opened_.load();
  return stats;
}

void HttpsClient::Start(std::unique_ptr<Transfer> transfer) {
  const HttpsRequest& request = transfer->request;
  absl::Time now = absl::Now();
  if (request.deadline <= now) {
    ++requests_completed_;
    return transfer->Finish(absl::DeadlineExceededError("the deadline passed before the request was sent"));
  }
  if (request.path.empty() || request.path.front() != '/' || HasControlCharacter(request.path) ||
      request.path.find(' ') != std::string::npos || (request.method != "GET" && request.method != "POST")) {
    ++requests_completed_;
    return transfer->Finish(absl::InvalidArgumentError("malformed request line"));
  }
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || HasControlCharacter(name) || HasControlCharacter(value) ||
        name.find(':') != std::string::npos) {
      ++requests_completed_;
      return transfer->Finish(
          absl::InvalidArgumentError(absl::StrCat("malformed header \"", absl::CEscape(name), "\"")));
    }
  }
  CURL* easy = curl_easy_init();
  if (easy == nullptr) {
    ++requests_completed_;
    return transfer->Finish(absl::UnavailableError("libcurl: cannot make a handle"));
  }
  transfer->easy = easy;
  transfer->url = url_prefix_ + request.path;

  curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer.get());
  curl_easy_setopt(easy, CURLOPT_URL, transfer->url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(easy, CURLOPT_PROXY, "");  // never a proxy, whatever the environment says
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer->error);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer.get());
  curl_easy_setopt(easy, CURLOPT_SHARE, curl_->share);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_MAXAGE_CONN,
                   static_cast<long>(std::max<int64_t>(1, absl::ToInt64Seconds(options_.max_idle))));
  if (curl_->connect_to != nullptr) curl_easy_setopt(easy, CURLOPT_CONNECT_TO, curl_->connect_to);

  // Mutual TLS: our certificate and key, only our CA, the peer's name checked.
  curl_blob cert = Blob(options_.cert_pem), key = Blob(options_.key_pem), ca = Blob(options_.ca_pem);
  curl_easy_setopt(easy, CURLOPT_SSLCERT_BLOB, &cert);
  curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
  curl_easy_setopt(easy, CURLOPT_SSLKEY_BLOB, &key);
  curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
  curl_easy_setopt(easy, CURLOPT_CAINFO, nullptr);  // not the system store
  curl_easy_setopt(easy, CURLOPT_CAPATH, nullptr);
  curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &ca);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(easy, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));

  if (request.deadline != absl::InfiniteFuture()) {
    int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(request.deadline - now, absl::Milliseconds(1)));
    long timeout = static_cast<long>(std::clamp<int64_t>(ms, 1, LONG_MAX));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, timeout);
  }

  curl_slist* headers = nullptr;
  auto add_header = [&headers](const std::string& line) {
    curl_slist* grown = curl_slist_append(headers, line.c_str());
    if (grown != nullptr) headers = grown;
  };
  add_header("Expect:");  // no 100-continue round trip
  if (request.method == "POST") {
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    if (!request.content_type.empty()) add_header(absl::StrCat("Content-Type: ", request.content_type));
  } else {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  }
  for (const auto& [name, value] : request.headers) add_header(absl::StrCat(name, ": ", value));
  transfer->headers = headers;
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);

  if (curl_multi_add_handle(curl_->multi, easy) != CURLM_OK) {
    ++requests_completed_;
    return transfer->Finish(absl::UnavailableError("libcurl: cannot start the transfer"));
  }
  curl_->in_flight[easy] = std::move(transfer);
}

void HttpsClient::Reap() {
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(curl_->multi, &left)) {
    if (message->msg != CURLMSG_DONE) continue;
    CURL* easy = message->easy_handle;
    CURLcode code = message->data.result;
    auto it = curl_->in_flight.find(easy);
    if (it == curl_->in_flight.end()) continue;
    std::unique_ptr<Transfer> transfer = std::move(it->second);
    curl_->in_flight.erase(it);

    long connects = 0;
    if (curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK && connects > 0) {
      connections_opened_ += static_cast<uint64_t>(connects);
    }
    absl::StatusOr<HttpsResponse> result;
    if (code == CURLE_OK) {
      HttpsResponse response;
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      response.status = static_cast<int>(status);
      char* content_type = nullptr;
      if (curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &content_type) == CURLE_OK &&
          content_type != nullptr) {
        response.content_type = content_type;
      }
      response.body = std::move(transfer->body);
      result = std::move(response);
    } else if (transfer->too_large) {
      result = absl::OutOfRangeError(
          absl::StrCat("the response is larger than ", options_.max_response_bytes, " bytes"));
    } else {
      std::string detail =
          transfer->error[0] != '\0' ? std::string(transfer->error) : curl_easy_strerror(code);
      if (code == CURLE_OPERATION_TIMEDOUT) {
        result =
            absl::DeadlineExceededError(absl::StrCat("no complete response within the deadline: ", detail));
      } else {
        result = absl::UnavailableError(detail);
      }
    }
    curl_multi_remove_handle(curl_->multi, easy);
    transfer->easy = nullptr;
    curl_easy_cleanup(easy);
    ++requests_completed_;
    transfer->Finish(std::move(result));
  }
}

void HttpsClient::StartWaiting() {
  const absl::Time now = absl::Now();
  // Requests whose deadline passed while they waited end now, wherever they are in the line.
  auto expired =
      std::stable_partition(curl_->waiting.begin(), curl_->waiting.end(),
                            [now](const std::unique_ptr<Transfer>& t) { return t->request.deadline > now; });
  for (auto it = expired; it != curl_->waiting.end(); ++it) {
    ++requests_completed_;
    (*it)->Finish(absl::DeadlineExceededError(
        absl::StrCat("the deadline passed while the request waited for one of the ", options_.max_connections,
                     " connections to the backend")));
  }
  curl_->waiting.erase(expired, curl_->waiting.end());
  while (!curl_->waiting.empty() && curl_->in_flight.size() < static_cast<size_t>(options_.max_connections)) {
    std::unique_ptr<Transfer> next = std::move(curl_->waiting.front());
    curl_->waiting.pop_front();
    Start(std::move(next));
  }
}

void HttpsClient::Run() {
  for (;;) {
    std::deque<std::unique_ptr<Transfer>> incoming;
    bool stopping = false;
    {
      absl::MutexLock lock(&mu_);
      incoming.swap(queue_);
      stopping = stopping_;
    }
    if (stopping) {
      for (auto* line : {&curl_->waiting, &incoming}) {
        for (auto& transfer : *line) {
          ++requests_completed_;
          transfer->Finish(absl::UnavailableError("the HTTPS client is shutting down"));
        }
        line->clear();
      }
      for (auto& [easy, transfer] : curl_->in_flight) {
        curl_multi_remove_handle(curl_->multi, easy);
        ++requests_completed_;
        transfer->Finish(absl::UnavailableError("the HTTPS client is shutting down"));
      }
      curl_->in_flight.clear();
      return;
    }
    for (auto& transfer : incoming) curl_->waiting.push_back(std::move(transfer));
    StartWaiting();
    int running = 0;
    curl_multi_perform(curl_->multi, &running);
    Reap();
    StartWaiting();  // into the connections the finished transfers freed
    if (!curl_->waiting.empty()) curl_multi_perform(curl_->multi, &running);
    long timeout_ms = -1;
    curl_multi_timeout(curl_->multi, &timeout_ms);
    if (timeout_ms < 0 || timeout_ms > 1000) timeout_ms = 1000;
    // While requests wait, wake often enough to end those whose deadline passes.
    if (!curl_->waiting.empty()) timeout_ms = std::min<long>(timeout_ms, 10);
    if (timeout_ms > 0) curl_multi_poll(curl_->multi, nullptr, 0, static_cast<int>(timeout_ms), nullptr);
  }
}

}  // namespace interop::adapters::lvliang
