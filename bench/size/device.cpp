// The smallest complete OneNET device, for scripts/size.sh: signs its token, connects with the
// OneNet profile, subscribes to its thing/# topics, publishes a property post at QoS 1, polls,
// and recognises property sets with the raw (heap-free) thing-model topic table. Linked for
// Cortex-M4 with --gc-sections, it shows what a device really carries of sdk/ (codec, client,
// auth, model topics); the transport, clock, HMAC and random source are stubs here, because
// they are the port's, not the SDK's.
#include "onenet/auth/token.hpp"
#include "onenet/client/client.hpp"
#include "onenet/model/topics.hpp"
#include "stub_port.hpp"

namespace {

using onenet_size::null_hmac;
using onenet_size::null_random;
using onenet_size::NullTransport;
using onenet_size::TickClock;

struct App : onenet::client::Handler {
  void on_message(const onenet::client::Message& m) override {
    onenet::model::TopicParts parts;
    if (onenet::model::parse_topic(m.topic, &parts) &&
        parts.operation == onenet::model::Operation::kPropertySet && !parts.is_reply) {
      received += m.payload.size;
    }
  }
  size_t received = 0;
};

NullTransport transport;
TickClock clock_source;
App app;
onenet::client::StaticStorage<512, 512, 1024, 4, 64> storage;
char token[256];
char filter[128];
char post_topic[128];

}  // namespace

int main() {
  onenet::auth::TokenRequest request;
  request.resource = "products/Pid/devices/dev";
  request.access_key = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=";
  request.expires_at = 4102444800;
  const onenet::Result<size_t> n =
      onenet::auth::sign_token(request, null_hmac, token, sizeof token);
  if (!n) return 1;

  onenet::client::Client client(transport, clock_source, null_random, storage.view(), app);
  onenet::client::Options options;
  options.profile = onenet::client::Profile::kOneNet;
  options.connect.client_id = "dev";
  options.connect.has_username = true;
  options.connect.username = "Pid";
  options.connect.has_password = true;
  options.connect.password = std::string_view(token, n.value());
  if (client.configure(options) != onenet::Status::kOk || client.start() != onenet::Status::kOk)
    return 2;
  const onenet::Result<size_t> filter_length =
      onenet::model::make_thing_filter(filter, sizeof filter, "Pid", "dev");
  const onenet::Result<size_t> topic_length = onenet::model::make_topic(
      post_topic, sizeof post_topic, "Pid", "dev", onenet::model::Operation::kPropertyPost);
  if (!filter_length || !topic_length) return 3;
  const onenet::codec::Subscription sub{std::string_view(filter, filter_length.value()),
                                        onenet::codec::QoS::kAtLeastOnce};
  (void)client.subscribe(&sub, 1);
  static const char kPost[] = R"({"id":"1","params":{"temperature":{"value":21.5}}})";
  for (;;) {
    (void)client.publish(
        std::string_view(post_topic, topic_length.value()),
        onenet::ByteView(reinterpret_cast<const uint8_t*>(kPost), sizeof kPost - 1),
        onenet::codec::QoS::kAtLeastOnce);
    client.poll(1000);
  }
}
