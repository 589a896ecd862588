// Status codes and Result<T> shared by every sdk/ module.
//
// Values are ranged per module so a number in a log names its layer: 1xx common, 2xx auth,
// 3xx codec, 4xx client, 5xx transport and platform, 6xx model, 7xx provisioning. `to_string` gives
// a sentence that says what went wrong and, where the caller can fix it, what to do.
#pragma once

#include <cassert>
#include <cstdint>
#include <cstdlib>
#include <utility>

namespace onenet {

enum class Status : uint16_t {
  kOk = 0,

  // Common (1xx).
  kBufferTooSmall = 100,
  kInvalidArgument = 101,
  kNotSupported = 102,
  kInternalError = 103,

  // Auth (2xx): tokens and access keys.
  kAuthEmptyKey = 200,
  kAuthMalformedKey = 201,
  kAuthKeyTooLong = 202,
  kAuthUnknownMethod = 203,
  kAuthResourceInvalid = 204,
  kAuthVersionInvalid = 205,
  kAuthHmacFailed = 206,
  kAuthTokenMalformed = 207,
  kAuthTokenFieldMissing = 208,
  kAuthTokenFieldOrder = 209,
  kAuthTokenBadEncoding = 210,
  kAuthTokenBadExpiry = 211,
  kAuthTokenExpired = 212,
  kAuthTokenBadSignature = 213,
  kAuthTokenBadSignLength = 214,  ///< sign decodes, but not to its method's HMAC length

  // Codec (3xx): MQTT 3.1.1 packets.
  kCodecNeedMore = 300,
  kCodecMalformedLength = 301,
  kCodecPacketTooLarge = 302,
  kCodecBadPacketType = 303,
  kCodecBadFlags = 304,
  kCodecBadQos = 305,
  kCodecBadUtf8 = 306,
  kCodecStringTooLong = 307,
  kCodecBadTopicName = 308,
  kCodecBadTopicFilter = 309,
  kCodecZeroPacketId = 310,
  kCodecBadProtocol = 311,
  kCodecBadConnectFlags = 312,
  kCodecEmptySubscription = 313,
  kCodecBadReturnCode = 314,
  kCodecTrailingBytes = 315,
  kCodecTruncated = 316,

  // Client (4xx): the MQTT session.
  kClientNotConnected = 400,
  kClientBusy = 401,
  kClientInflightFull = 402,
  kClientConnackBadProtocol = 403,
  kClientConnackIdRejected = 404,
  kClientConnackUnavailable = 405,
  kClientConnackBadCredentials = 406,
  kClientConnackNotAuthorized = 407,
  kClientConnackUnknown = 408,
  kClientProtocolViolation = 409,
  kClientKeepAliveTimeout = 410,
  kClientConnectTimeout = 411,
  kClientRuleQos = 412,
  kClientRuleRetain = 413,
  kClientRuleWill = 414,
  kClientRuleKeepAlive = 415,
  kClientRuleTopic = 416,
  kClientRuleSubscriptionCount = 417,
  kClientRuleCleanSession = 418,
  kClientRulePayloadTooLarge = 419,
  kClientTooManySubscriptions = 420,
  kClientClosed = 421,
  kClientSessionLost = 422,
  kClientSubscribeRefused = 423,
  kClientMessageTooLarge = 424,
  kClientRuleWildcard = 425,

  // Transport and platform (5xx).
  kTransportResolveFailed = 500,
  kTransportConnectFailed = 501,
  kTransportTimeout = 502,
  kTransportClosed = 503,
  kTransportIoError = 504,
  kTlsSetupFailed = 505,
  kTlsHandshakeFailed = 506,
  kTlsVerifyFailed = 507,
  kTlsCaLoadFailed = 508,
  kPlatformRandomFailed = 509,
  kTransportInProgress = 510,
  kTransportCancelled = 511,

  // Model (6xx): the OneJSON thing model.
  kModelReplyTimeout = 600,
  kModelInvalidValue = 601,
  kModelBadReply = 602,
  kModelTooManyPending = 603,

  // Provisioning (7xx): OneNET's HTTP API.
  kProvisionBadCredentials = 700,
  kProvisionApiError = 701,
  kProvisionNetworkFailed = 702,
  kProvisionTimeout = 703,
  kProvisionBadResponse = 704,
  kProvisionNoOtaTask = 705,
  kProvisionOtaChecksumMismatch = 706,
  /// Not a failure: a PackageSink stopped the download to resume it later (to report progress,
  /// say); FuseOtaClient::download goes on from the bytes received when called again.
  kProvisionDownloadPaused = 707,
};

/// A sentence describing `status`; static storage, never null.
const char* to_string(Status status);

/// Value-or-status. Owns its value; no heap, no exceptions. Reading `value()` of a failed
/// result is a programming error and aborts.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)), status_(Status::kOk) {}  // NOLINT: implicit by design
  Result(Status status) : value_(), status_(status) {                  // NOLINT: implicit by design
    if (status == Status::kOk) std::abort();  // an Ok result must carry a value
  }

  explicit operator bool() const { return status_ == Status::kOk; }
  bool ok() const { return status_ == Status::kOk; }
  Status status() const { return status_; }

  T& value() & {
    if (!ok()) std::abort();
    return value_;
  }
  const T& value() const& {
    if (!ok()) std::abort();
    return value_;
  }
  T value_or(T fallback) const { return ok() ? value_ : fallback; }

 private:
  T value_;
  Status status_;
};

}  // namespace onenet
