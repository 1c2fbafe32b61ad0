// For tests: waiting for a settlement ledger write (gateway/settlement/ledger.h), whose `done` runs
// on the ledger's own thread once the write is durable or failed.
#ifndef INTEROP_TESTS_GATEWAY_SETTLEMENT_LEDGER_WRITE_H_
#define INTEROP_TESTS_GATEWAY_SETTLEMENT_LEDGER_WRITE_H_

#include <functional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "gateway/settlement/ledger.h"

namespace interop::settlement::testing {

// Calls `submit` with a `done` callback and waits until it runs; returns the status it got.
//   absl::Status s = AwaitLedgerWrite([&](auto done) { ledger.RecordIntent(entry, std::move(done)); });
inline absl::Status AwaitLedgerWrite(const std::function<void(std::function<void(absl::Status)>)>& submit) {
  absl::Notification written;
  absl::Status result;
  submit([&](absl::Status status) {
    result = std::move(status);
    written.Notify();
  });
  written.WaitForNotification();
  return result;
}

inline absl::Status RecordAndWait(SettlementLedger& ledger, LedgerEntry entry) {
  return AwaitLedgerWrite([&](auto done) { ledger.RecordSettlement(std::move(entry), std::move(done)); });
}
inline absl::Status ReverseAndWait(SettlementLedger& ledger, const std::string& id,
                                   medical::v1::Settlement reversed) {
  return AwaitLedgerWrite([&](auto done) { ledger.RecordReversal(id, std::move(reversed), std::move(done)); });
}
inline absl::Status IntentAndWait(SettlementLedger& ledger, LedgerEntry entry) {
  return AwaitLedgerWrite([&](auto done) { ledger.RecordIntent(std::move(entry), std::move(done)); });
}
inline absl::Status AbandonAndWait(SettlementLedger& ledger, const std::string& id) {
  return AwaitLedgerWrite([&](auto done) { ledger.AbandonIntent(id, std::move(done)); });
}

}  // namespace interop::settlement::testing

#endif  // INTEROP_TESTS_GATEWAY_SETTLEMENT_LEDGER_WRITE_H_
