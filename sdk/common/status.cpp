#include "onenet/status.hpp"

namespace onenet {

const char* to_string(Status status) {
  switch (status) {
    case Status::kOk:
      return "ok";
    case Status::kBufferTooSmall:
      return "the output buffer is too small: query the size first";
    case Status::kInvalidArgument:
      return "invalid argument";
    case Status::kNotSupported:
      return "not supported by this build or profile";
    case Status::kInternalError:
      return "internal error (a bug: please report it)";

    case Status::kAuthEmptyKey:
      return "the access key is empty: copy it from the OneNET console";
    case Status::kAuthMalformedKey:
      return "the access key is not valid Base64: copy it again from the console, whole";
    case Status::kAuthKeyTooLong:
      return "the access key decodes to more than 128 bytes";
    case Status::kAuthUnknownMethod:
      return "unknown signature method: use md5, sha1 or sha256";
    case Status::kAuthResourceInvalid:
      return "invalid res: expected class/id[/class/id], e.g. products/{pid}/devices/{name}, at "
             "most 256 bytes";
    case Status::kAuthVersionInvalid:
      return "invalid token version: expected a date such as 2018-10-31";
    case Status::kAuthHmacFailed:
      return "the HMAC backend failed";
    case Status::kAuthTokenMalformed:
      return "malformed token: expected version=..&res=..&et=..&method=..&sign=..";
    case Status::kAuthTokenFieldMissing:
      return "token field missing: a token needs version, res, et, method and sign";
    case Status::kAuthTokenFieldOrder:
      return "token fields out of order: expected version, res, et, method, sign";
    case Status::kAuthTokenBadEncoding:
      return "token has a bad %XX escape or a sign that is not Base64";
    case Status::kAuthTokenBadExpiry:
      return "token et is not a Unix time in seconds";
    case Status::kAuthTokenExpired:
      return "token expired (et is in the past): sign a new one, and check the clock";
    case Status::kAuthTokenBadSignature:
      return "token signature does not match: wrong key, or a field was changed";
    case Status::kAuthTokenBadSignLength:
      return "token sign is not as long as its method's: an HMAC of 16 bytes for md5, 20 for "
             "sha1, 32 for sha256 (signed with another method than method= names?)";

    case Status::kCodecNeedMore:
      return "incomplete packet: more bytes needed";
    case Status::kCodecMalformedLength:
      return "malformed remaining length";
    case Status::kCodecPacketTooLarge:
      return "packet larger than the configured maximum";
    case Status::kCodecBadPacketType:
      return "invalid packet type";
    case Status::kCodecBadFlags:
      return "reserved fixed-header flags are wrong for this packet type";
    case Status::kCodecBadQos:
      return "invalid QoS (only 0, 1 and 2 exist)";
    case Status::kCodecBadUtf8:
      return "string is not well-formed UTF-8 (or contains U+0000)";
    case Status::kCodecStringTooLong:
      return "string longer than 65,535 bytes";
    case Status::kCodecBadTopicName:
      return "invalid topic name (empty, or contains + or #)";
    case Status::kCodecBadTopicFilter:
      return "invalid topic filter (empty, or misplaced + or #)";
    case Status::kCodecZeroPacketId:
      return "packet identifier 0 is not allowed";
    case Status::kCodecBadProtocol:
      return "CONNECT protocol name or level is not MQTT 3.1.1";
    case Status::kCodecBadConnectFlags:
      return "inconsistent CONNECT flags";
    case Status::kCodecEmptySubscription:
      return "SUBSCRIBE/UNSUBSCRIBE needs at least one topic filter";
    case Status::kCodecBadReturnCode:
      return "invalid return code";
    case Status::kCodecTrailingBytes:
      return "packet has bytes after its last field";
    case Status::kCodecTruncated:
      return "packet ends inside a field";

    case Status::kClientNotConnected:
      return "not connected";
    case Status::kClientBusy:
      return "another operation of this kind is in progress";
    case Status::kClientInflightFull:
      return "in-flight table full: wait for acknowledgements or enlarge it";
    case Status::kClientConnackBadProtocol:
      return "broker refused the connection: unacceptable protocol version (CONNACK 1)";
    case Status::kClientConnackIdRejected:
      return "broker refused the connection: client identifier rejected (CONNACK 2)";
    case Status::kClientConnackUnavailable:
      return "broker refused the connection: server unavailable (CONNACK 3)";
    case Status::kClientConnackBadCredentials:
      return "broker refused the connection: bad user name or password (CONNACK 4); on OneNET "
             "check the key and the token's et";
    case Status::kClientConnackNotAuthorized:
      // onenet-protocol.md 2.6: OneNET's SDKs read 5 as an illegal token; 2.7: a device with
      // more than 10 logins in 5 s is banned for 5 minutes.
      return "broker refused the connection: not authorized (CONNACK 5); on OneNET check that the "
             "device exists, its token (key, res, et), and that it has not logged in more than 10 "
             "times in 5 s (a 5-minute ban)";
    case Status::kClientConnackUnknown:
      return "broker sent an unknown CONNACK return code";
    case Status::kClientProtocolViolation:
      return "the broker broke the MQTT protocol; the connection was dropped";
    case Status::kClientKeepAliveTimeout:
      return "no PINGRESP within the keep-alive timeout: link declared dead";
    case Status::kClientConnectTimeout:
      return "no CONNACK within the connect timeout";
    case Status::kClientRuleQos:
      return "OneNET profile: QoS 2 is not supported by OneNET, use 0 or 1";
    case Status::kClientRuleRetain:
      return "OneNET profile: retained messages are not supported by OneNET";
    case Status::kClientRuleWill:
      return "OneNET profile: a will message is not supported by OneNET";
    case Status::kClientRuleKeepAlive:
      return "OneNET profile: keep-alive must be 10..1800 seconds";
    case Status::kClientRuleTopic:
      return "OneNET profile: topic outside this device's $sys/{pid}/{device}/ space";
    case Status::kClientRuleWildcard:
      return "OneNET profile: no wildcard before the fifth level ($sys/{pid}/{device}/thing/# is "
             "the widest filter)";
    case Status::kClientRuleSubscriptionCount:
      return "OneNET profile: at most 10 subscriptions per session";
    case Status::kClientRuleCleanSession:
      return "OneNET profile: clean session must be on";
    case Status::kClientRulePayloadTooLarge:
      return "OneNET profile: payload above 256 KB";
    case Status::kClientTooManySubscriptions:
      return "subscription table full: enlarge it";
    case Status::kClientSessionLost:
      return "the broker did not resume the session: the unacknowledged message was dropped "
             "(RequeuePolicy::kDrop)";
    case Status::kClientSubscribeRefused:
      return "the broker refused the subscription (SUBACK 0x80): check the topic filter and the "
             "ACL";
    case Status::kClientMessageTooLarge:
      return "message larger than the client's buffers: to send it, enlarge the tx buffer (QoS 0) "
             "or the outbox (QoS 1/2); to receive it, enlarge rx";
    case Status::kClientClosed:
      return "the client was closed";

    case Status::kTransportResolveFailed:
      return "host name could not be resolved";
    case Status::kTransportConnectFailed:
      return "TCP connection failed";
    case Status::kTransportTimeout:
      return "network operation timed out";
    case Status::kTransportClosed:
      return "connection closed by the peer";
    case Status::kTransportIoError:
      return "network I/O error";
    case Status::kTlsSetupFailed:
      return "TLS set-up failed";
    case Status::kTlsHandshakeFailed:
      return "TLS handshake failed";
    case Status::kTlsVerifyFailed:
      return "TLS: the server certificate or host name did not verify against the CA";
    case Status::kTlsCaLoadFailed:
      return "TLS: the CA certificate could not be loaded";
    case Status::kTransportInProgress:
      return "connection in progress";
    case Status::kTransportCancelled:
      return "connection attempt cancelled (its owner is stopping)";
    case Status::kModelReplyTimeout:
      return "no reply from the platform within the request timeout";
    case Status::kModelInvalidValue:
      return "refused by the thing model (identifier, access, type or range): see the message";
    case Status::kModelBadReply:
      return "the platform's reply was not valid OneJSON";
    case Status::kModelTooManyPending:
      return "too many requests waiting for replies: wait, or raise max_pending";

    case Status::kProvisionBadCredentials:
      return "OneNET refused the credentials (10403): check the user id or product id, the access "
             "key, and the clock";
    case Status::kProvisionApiError:
      return "OneNET refused the request: see its message";
    case Status::kProvisionNetworkFailed:
      return "cannot reach the API (connection refused, reset or dropped), retries exhausted";
    case Status::kProvisionTimeout:
      return "the API did not answer in time, retries exhausted";
    case Status::kProvisionBadResponse:
      return "the API's answer is not OneNET's JSON envelope: check --api";
    case Status::kProvisionNoOtaTask:
      return "no OTA task for this device, kind and version (OneNET's 12012, \"not exist\")";
    case Status::kProvisionOtaChecksumMismatch:
      return "the downloaded OTA package does not match the task's MD5: it was deleted, download "
             "it again";
    case Status::kProvisionDownloadPaused:
      return "the package's sink paused the download: download again to go on from the bytes "
             "received";
    case Status::kPlatformRandomFailed:
      return "random source failed";
  }
  return "unknown status";
}

}  // namespace onenet
