// onenet-local's platform side: replies to device requests, thing-model checks, malformed input.
#include <doctest/doctest.h>

#include "onenet_local.hpp"

using itest::OnenetLocal;
using nlohmann::json;

namespace {

constexpr const char* kProduct = "Ck2AF9QD2K";

const char* kThingModel = R"({
  "version": "1.0",
  "profile": {"productId": "Ck2AF9QD2K"},
  "properties": [
    {"identifier": "temp", "name": "Temperature", "functionType": "u", "accessMode": "r",
     "dataType": {"type": "float", "specs": {"min": "-40", "max": "125", "step": "", "unit": ""}}},
    {"identifier": "interval", "name": "Interval", "functionType": "u", "accessMode": "rw",
     "dataType": {"type": "int32", "specs": {"min": "1", "max": "3600", "step": "1", "unit": "s"}}},
    {"identifier": "label", "name": "Label", "functionType": "u", "accessMode": "rw",
     "dataType": {"type": "string", "specs": {"length": 8}}}
  ],
  "events": [
    {"identifier": "overheat", "name": "Overheat", "eventType": "alert",
     "outputData": [{"identifier": "temp", "name": "t", "dataType": {"type": "float", "specs": {}}}]}
  ],
  "services": [
    {"identifier": "reboot", "name": "Reboot", "callType": "sync",
     "inputData": [{"identifier": "delay", "name": "d", "dataType": {"type": "int32", "specs": {"min": "0", "max": "60"}}}],
     "outputData": [{"identifier": "result", "name": "r", "dataType": {"type": "string", "specs": {"length": 32}}}]}
  ],
  "combs": []
})";

// One request as the device "dev1", and the cloud's reply.
json request(const OnenetLocal& cloud, const std::string& operation, const std::string& payload) {
  return cloud.exchange(kProduct, "dev1", 0, "thing/" + operation, "thing/" + operation + "/reply",
                        payload);
}

}  // namespace

TEST_CASE("property/post is answered on /reply with the same id; the cloud keeps the values") {
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/dev1"});
  REQUIRE(cloud.start());
  const json reply = request(
      cloud, "property/post",
      R"({"id":"4242","version":"1.0","params":{"temp":{"value":21.5,"time":1700000000000},"rpm":{"value":900}}})");
  CHECK(reply["id"] == "4242");
  CHECK(reply["code"] == 200);
  const json props =
      cloud.curl("GET", "/thingmodel/query-device-property?product_id=" + std::string(kProduct) +
                            "&device_name=dev1");
  REQUIRE(props["code"] == 0);
  REQUIRE(props["data"].size() == 2);
  CHECK(props["data"][1]["identifier"] == "temp");
  CHECK(props["data"][1]["value"] == 21.5);
  CHECK(props["data"][1]["time"] == 1700000000000);
  CHECK(cloud.stop());
}

TEST_CASE(
    "with a thing model: unknown identifiers and wrong types get a non-200 code and a message") {
  itest::TempDir dir;
  itest::write_file(dir.file("tsl.json"), kThingModel);
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/dev1", "--tsl",
                     std::string(kProduct) + "=" + dir.file("tsl.json")});
  REQUIRE(cloud.start());
  json reply = request(cloud, "property/post", R"({"id":"1","params":{"temp":{"value":21.5}}})");
  CHECK(reply["code"] == 200);
  reply = request(cloud, "property/post", R"({"id":"2","params":{"humidity":{"value":40}}})");
  CHECK(reply["code"] != 200);
  CHECK(reply["msg"].get<std::string>().find("unknown property 'humidity'") != std::string::npos);
  reply = request(cloud, "property/post", R"({"id":"3","params":{"temp":{"value":"hot"}}})");
  CHECK(reply["code"] != 200);
  CHECK(reply["msg"].get<std::string>().find("expected a number") != std::string::npos);
  reply = request(cloud, "property/post", R"({"id":"4","params":{"temp":{"value":200}}})");
  CHECK(reply["msg"].get<std::string>().find("above the maximum") != std::string::npos);
  reply =
      request(cloud, "property/post", R"({"id":"5","params":{"label":{"value":"far too long"}}})");
  CHECK(reply["msg"].get<std::string>().find("longer than 8") != std::string::npos);
  reply =
      request(cloud, "event/post", R"({"id":"6","params":{"overheat":{"value":{"temp":130.5}}}})");
  CHECK(reply["code"] == 200);
  reply = request(cloud, "event/post", R"({"id":"7","params":{"meltdown":{"value":{}}}})");
  CHECK(reply["code"] != 200);
  // pack/post checks events as event/post does; history takes at most 100 values a point.
  reply =
      request(cloud, "pack/post", R"({"id":"9","params":[{"events":{"meltdown":{"value":{}}}}]})");
  CHECK(reply["code"] == 400);
  CHECK(reply["msg"] == "Ck2AF9QD2K/dev1: unknown event 'meltdown'");
  json values = json::array();
  for (int i = 0; i < 101; ++i) values.push_back({{"value", 20.0 + i / 10.0}, {"time", 1000 + i}});
  reply = request(cloud, "history/post",
                  json{{"id", "10"}, {"params", {{{"properties", {{"temp", values}}}}}}}.dump());
  CHECK(reply["code"] == 400);
  CHECK(reply["msg"] == "Ck2AF9QD2K/dev1.temp: more than 100 values");
  values.erase(values.begin());
  reply = request(cloud, "history/post",
                  json{{"id", "11"}, {"params", {{{"properties", {{"temp", values}}}}}}}.dump());
  CHECK(reply["code"] == 200);
  // Desired values exist only for the model's properties: delete, like get, names them.
  reply = request(cloud, "property/desired/delete", R"({"id":"8","params":{"humidity":{}}})");
  CHECK(reply["code"] == 400);
  CHECK(reply["msg"] == "unknown property 'humidity'");
  const json events =
      cloud.curl("GET", "/thingmodel/query-device-event?product_id=" + std::string(kProduct) +
                            "&device_name=dev1");
  REQUIRE(events["data"].size() == 1);
  CHECK(events["data"][0]["identifier"] == "overheat");
  CHECK(cloud.stop());
}

TEST_CASE("malformed JSON: an error reply when the id is readable, nothing breaks") {
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/dev1"});
  REQUIRE(cloud.start());
  json reply = request(cloud, "property/post", R"({"id":"77","params":{"temp":{"value":)");
  CHECK(reply["id"] == "77");
  CHECK(reply["code"] == 400);
  CHECK(reply["msg"] == "malformed JSON");
  reply = request(cloud, "property/post", R"({"id":"78","params":[1,2]})");
  CHECK(reply["code"] == 400);
  reply = request(cloud, "property/post",
                  R"({"id":"79","params":{"temp":{"value":1}}})");  // still alive
  CHECK(reply["code"] == 200);
  CHECK(cloud.stop());
}

TEST_CASE("well-formed JSON with members of the wrong type: answered, nothing breaks") {
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/dev1"});
  REQUIRE(cloud.start());
  // A time that is not a number is replaced by the cloud's own.
  json reply =
      request(cloud, "event/post", R"({"id":"80","params":{"overheat":{"value":{},"time":"x"}}})");
  CHECK(reply["code"] == 200);
  reply = request(cloud, "pack/post",
                  R"({"id":"81","params":[{"properties":{"temp":{"value":1,"time":"x"}}}]})");
  CHECK(reply["code"] == 200);
  // An identity that is not an object names no device of this gateway.
  reply = request(cloud, "pack/post", R"({"id":"82","params":[{"identity":5}]})");
  CHECK(reply["code"] == 403);
  reply = request(cloud, "sub/login", R"({"id":"83","params":{"productID":5,"deviceName":[]}})");
  CHECK(reply["code"] == 400);
  reply = request(cloud, "property/post", R"({"id":"84","params":{"temp":{"value":1}}})");
  CHECK(reply["code"] == 200);  // still alive
  CHECK(cloud.stop());
}

TEST_CASE("desired values: set over HTTP, read and deleted by the device") {
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/dev1"});
  REQUIRE(cloud.start());
  const json set =
      cloud.curl("POST", "/thingmodel/set-device-desired-property",
                 R"({"product_id":"Ck2AF9QD2K","device_name":"dev1","params":{"interval":30}})");
  REQUIRE(set["code"] == 0);
  json reply =
      request(cloud, "property/desired/get", R"({"id":"10","params":["interval","label"]})");
  CHECK(reply["code"] == 200);
  CHECK(reply["data"]["interval"]["value"] == 30);
  CHECK(reply["data"]["interval"]["version"] == 1);
  CHECK_FALSE(reply["data"].contains("label"));
  reply = request(cloud, "property/desired/delete",
                  R"({"id":"11","params":{"interval":{"version":1}}})");
  CHECK(reply["code"] == 200);
  reply = request(cloud, "property/desired/get", R"({"id":"12","params":["interval"]})");
  CHECK(reply["data"].empty());
  // Cleared, the version starts again at 1 (onenet-protocol.md section 4.2); it went on at 2.
  REQUIRE(
      cloud.curl(
          "POST", "/thingmodel/set-device-desired-property",
          R"({"product_id":"Ck2AF9QD2K","device_name":"dev1","params":{"interval":40}})")["code"] ==
      0);
  reply = request(cloud, "property/desired/get", R"({"id":"13","params":["interval"]})");
  CHECK(reply["data"]["interval"]["value"] == 40);
  CHECK(reply["data"]["interval"]["version"] == 1);
  CHECK(cloud.stop());
}

TEST_CASE("desired values from the application's side: query and delete, by list or by version") {
  itest::TempDir dir;
  itest::write_file(dir.file("tsl.json"), kThingModel);
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/dev1", "--tsl",
                     std::string(kProduct) + "=" + dir.file("tsl.json")});
  REQUIRE(cloud.start());
  const auto call = [&](const char* operation, const std::string& params) {
    return cloud.curl(
        "POST", std::string("/thingmodel/") + operation,
        R"({"product_id":"Ck2AF9QD2K","device_name":"dev1","params":)" + params + "}");
  };
  REQUIRE(call("set-device-desired-property", R"({"interval":30,"label":"a"})")["code"] == 0);
  json answer = call("set-device-desired-property", R"({"interval":40})");
  REQUIRE(answer["code"] == 0);
  CHECK(answer["data"] == json{{"interval", 2}});  // the new version

  // The answer is what the device's property/desired/get gets; "temp" has none.
  answer = call("query-device-desired-property", R"(["interval","label","temp"])");
  REQUIRE(answer["code"] == 0);
  CHECK(answer["data"] == json::parse(R"({"interval":{"value":40,"version":2},
                                          "label":{"value":"a","version":1}})"));
  CHECK(request(cloud, "property/desired/get",
                R"({"id":"1","params":["interval","label"]})")["data"] == answer["data"]);

  // A version that is not the latest deletes nothing (section 4.2); a list deletes any version.
  REQUIRE(call("delete-device-desired-property", R"({"interval":{"version":1}})")["code"] == 0);
  CHECK(call("query-device-desired-property", R"(["interval"])")["data"]["interval"]["version"] ==
        2);
  REQUIRE(call("delete-device-desired-property", R"(["interval"])")["code"] == 0);
  CHECK(call("query-device-desired-property", R"(["interval","label"])")["data"] ==
        json::parse(R"({"label":{"value":"a","version":1}})"));
  REQUIRE(call("delete-device-desired-property", R"({"label":{"version":1}})")["code"] == 0);
  CHECK(call("query-device-desired-property", R"(["interval","label"])")["data"].empty());
  // Deleting what is not there changes nothing and is no error.
  CHECK(call("delete-device-desired-property", R"(["interval"])")["code"] == 0);

  // Refusals: the shape (10400), the thing model (10412), the device (10404).
  for (const char* params : {R"("interval")", "[]", "[1]", R"({"interval":{}})"}) {
    CAPTURE(params);
    CHECK(call("query-device-desired-property", params)["code"] == 10400);
  }
  for (const char* params : {R"("interval")", "[]", "{}", "[null]"}) {
    CAPTURE(params);
    CHECK(call("delete-device-desired-property", params)["code"] == 10400);
  }
  CHECK(call("query-device-desired-property", R"(["ghost"])")["code"] == 10412);
  CHECK(call("delete-device-desired-property", R"({"ghost":{}})")["code"] == 10412);
  CHECK(call("set-device-desired-property", R"({"temp":20})")["code"] == 10412);  // read-only
  CHECK(cloud.curl(
            "POST", "/thingmodel/query-device-desired-property",
            R"({"product_id":"Ck2AF9QD2K","device_name":"ghost","params":["interval"]})")["code"] ==
        10404);
  CHECK(cloud.stop());
}

TEST_CASE(
    "property history: every reported value by its time, in a range, in pages, either order") {
  itest::TempDir dir;
  itest::write_file(dir.file("tsl.json"), kThingModel);
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/dev1", "--tsl",
                     std::string(kProduct) + "=" + dir.file("tsl.json")});
  REQUIRE(cloud.start());
  // Three values, then two older ones reported late with history/post (section 4.4).
  REQUIRE(request(cloud, "property/post",
                  R"({"id":"1","params":{"interval":{"value":5,"time":1700000003000}}})")["code"] ==
          200);
  REQUIRE(request(cloud, "property/post",
                  R"({"id":"2","params":{"interval":{"value":6,"time":1700000005000}}})")["code"] ==
          200);
  REQUIRE(request(cloud, "property/post",
                  R"({"id":"4","params":{"interval":{"value":7,"time":1700000007000}}})")["code"] ==
          200);
  REQUIRE(request(cloud, "history/post",
                  R"({"id":"3","params":[{"properties":{"interval":[
                        {"value":1,"time":1700000001000},{"value":2,"time":1700000002000}]}}]})")
              ["code"] == 200);
  const auto history = [&](const std::string& query) {
    return cloud.curl("GET",
                      "/thingmodel/query-device-property-history?product_id=Ck2AF9QD2K&device_name="
                      "dev1&identifier=interval&" +
                          query);
  };
  const auto values = [](const json& answer) {
    std::vector<int> v;
    for (const json& record : answer["data"]["list"]) v.push_back(record["value"].get<int>());
    return v;
  };
  json answer = history("start_time=1700000000000&end_time=1700000009000");
  REQUIRE(answer["code"] == 0);
  CHECK(answer["data"]["total"] == 5);
  CHECK(values(answer) == std::vector<int>{1, 2, 5, 6, 7});  // oldest first by default
  CHECK(answer["data"]["list"][0] == json::parse(R"({"time":1700000001000,"value":1})"));
  // The range is inclusive at both ends; sort=2 is newest first; offset and limit page it.
  answer = history("start_time=1700000002000&end_time=1700000005000&sort=2");
  CHECK(answer["data"]["total"] == 3);
  CHECK(values(answer) == std::vector<int>{6, 5, 2});
  answer = history("start_time=1700000000000&end_time=1700000009000&offset=1&limit=2");
  CHECK(answer["data"]["total"] == 5);
  CHECK(values(answer) == std::vector<int>{2, 5});
  CHECK(values(history("start_time=1700000000000&end_time=1700000009000&offset=9")).empty());
  CHECK(history("start_time=1&end_time=2")["data"] == json::parse(R"({"total":0,"list":[]})"));
  // The latest value is the newest by time, not the last to arrive.
  const json latest =
      cloud.curl("GET", "/thingmodel/query-device-property?product_id=Ck2AF9QD2K&device_name=dev1");
  bool found = false;
  for (const json& p : latest["data"]) {
    if (p["identifier"] == "interval") {
      found = true;
      CHECK(p["value"] == 7);
    }
  }
  CHECK(found);

  // Refusals: the range, the paging, the identifier, the device.
  for (const char* query :
       {"end_time=1", "start_time=1", "start_time=x&end_time=2", "start_time=-1&end_time=2",
        "start_time=3&end_time=2", "start_time=1&end_time=2&sort=3",
        "start_time=1&end_time=2&limit=0", "start_time=1&end_time=2&limit=101",
        "start_time=1&end_time=2&offset=-1"}) {
    CAPTURE(query);
    CHECK(history(query)["code"] == 10400);
  }
  CHECK(cloud.curl("GET",
                   "/thingmodel/query-device-property-history?product_id=Ck2AF9QD2K&device_name="
                   "dev1&identifier=ghost&start_time=1&end_time=2")["code"] == 10412);
  CHECK(cloud.curl("GET",
                   "/thingmodel/query-device-property-history?product_id=Ck2AF9QD2K&device_name="
                   "dev1&start_time=1&end_time=2")["code"] == 10400);
  CHECK(cloud.curl("GET",
                   "/thingmodel/query-device-property-history?product_id=Ck2AF9QD2K&device_name="
                   "ghost&identifier=interval&start_time=1&end_time=2")["code"] == 10404);
  CHECK(cloud.stop());
}
