// The pure parts of the response cache: the key, the stored form of an
// answer and the single-flight table.
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/cache/answer_codec.h"
#include "services/cache/cache_key.h"
#include "services/cache/flight_table.h"
#include "sluice/v1/cache.pb.h"
#include "sluice/v1/chat.pb.h"
#include "sluice/v1/config.pb.h"

namespace sluice::cache {
namespace {

using google::protobuf::util::MessageDifferencer;
using sluice::v1::CachedAnswer;
using sluice::v1::ChatChunk;
using sluice::v1::ChatRequest;
using sluice::v1::ChatResponse;

// ---------------------------------------------------------------- CacheKey

// A request touching every field the key canonicalises, in one spelling.
ChatRequest BaseRequest() {
  ChatRequest request;
  request.set_model("fast");
  auto* system = request.add_messages();
  system->set_role("system");
  system->set_text("You are terse.");
  auto* user = request.add_messages();
  user->set_role("user");
  user->set_text("What is 2+2?");
  auto* assistant = request.add_messages();
  assistant->set_role("assistant");
  auto* call = assistant->add_tool_calls();
  call->set_id("call_1");
  call->set_type("function");
  call->set_function_name("add");
  call->set_function_arguments(R"({"a":2,"b":2})");
  auto* tool = request.add_messages();
  tool->set_role("tool");
  tool->set_tool_call_id("call_1");
  tool->set_text("4");
  request.set_temperature(0);
  request.set_max_tokens(100);
  request.add_stops("\n\n");
  request.set_tools_json(
      R"([{"type":"function","function":{"name":"add","parameters":)"
      R"({"type":"object","properties":{"a":{"type":"number"},)"
      R"("b":{"type":"number"}}}}}])");
  request.set_response_format_json(R"({"type":"json_object","strict":true})");
  request.set_tool_choice_json(
      R"({"type":"function","function":{"name":"add"}})");
  request.set_extra_json(
      R"({"reasoning_effort":"low","thinking":{"type":"on"}})");
  return request;
}

// The same request with every JSON text's keys reordered and spaced out.
ChatRequest ReorderedRequest() {
  ChatRequest request = BaseRequest();
  request.mutable_messages(2)->mutable_tool_calls(0)->set_function_arguments(
      "{ \"b\" : 2,\n  \"a\" : 2 }");
  request.set_tools_json(
      R"([ { "function" : { "parameters" : { "properties" : )"
      R"({ "b" : { "type" : "number" }, "a" : { "type" : "number" } }, )"
      R"("type" : "object" }, "name" : "add" }, "type" : "function" } ])");
  request.set_response_format_json(
      "{\n\t\"strict\": true,\n\t\"type\": \"json_object\"\n}");
  request.set_tool_choice_json(
      R"({ "function": {"name": "add"}, "type": "function" })");
  request.set_extra_json(
      R"({"thinking": {"type": "on"}, "reasoning_effort": "low"})");
  return request;
}

std::string Key(const ChatRequest& request) {
  return CacheKey(request, "acme", "openai/gpt-4o");
}

TEST(CacheKeyTest, IsSixtyFourLowercaseHexChars) {
  std::string key = Key(BaseRequest());
  ASSERT_EQ(key.size(), 64u);
  for (char c : key) {
    EXPECT_NE(absl::string_view("0123456789abcdef").find(c),
              absl::string_view::npos)
        << key;
  }
}

TEST(CacheKeyTest, IsStableAcrossCalls) {
  EXPECT_EQ(Key(BaseRequest()), Key(BaseRequest()));
}

TEST(CacheKeyTest, IgnoresJsonKeyOrderAndWhitespace) {
  EXPECT_EQ(Key(BaseRequest()), Key(ReorderedRequest()));
}

TEST(CacheKeyTest, IgnoresJsonSpellingOfEachFieldAlone) {
  const std::string base = Key(BaseRequest());
  const ChatRequest reordered = ReorderedRequest();
  std::vector<std::pair<std::string, std::function<void(ChatRequest&)>>> cases =
      {
          {"tools_json",
           [&](ChatRequest& r) { r.set_tools_json(reordered.tools_json()); }},
          {"response_format_json",
           [&](ChatRequest& r) {
             r.set_response_format_json(reordered.response_format_json());
           }},
          {"tool_choice_json",
           [&](ChatRequest& r) {
             r.set_tool_choice_json(reordered.tool_choice_json());
           }},
          {"extra_json",
           [&](ChatRequest& r) { r.set_extra_json(reordered.extra_json()); }},
          {"tool call arguments",
           [&](ChatRequest& r) {
             r.mutable_messages(2)
                 ->mutable_tool_calls(0)
                 ->set_function_arguments(
                     reordered.messages(2).tool_calls(0).function_arguments());
           }},
      };
  for (auto& [name, change] : cases) {
    SCOPED_TRACE(name);
    ChatRequest request = BaseRequest();
    change(request);
    EXPECT_EQ(Key(request), base);
  }
}

TEST(CacheKeyTest, IgnoresContentPartRawJsonSpelling) {
  auto with_part = [](absl::string_view raw_json) {
    ChatRequest request = BaseRequest();
    auto* part = request.mutable_messages(1)->mutable_parts()->add_parts();
    part->set_type("image_url");
    part->set_raw_json(std::string(raw_json));
    return request;
  };
  EXPECT_EQ(
      Key(with_part(R"({"image_url":{"url":"u","detail":"low"}})")),
      Key(with_part(R"({ "image_url" : { "detail" : "low", "url" : "u" } })")));
}

TEST(CacheKeyTest, IgnoresWhatDoesNotChangeTheAnswer) {
  const std::string base = Key(BaseRequest());
  std::vector<std::pair<std::string, std::function<void(ChatRequest&)>>> cases =
      {
          {"stream", [](ChatRequest& r) { r.set_stream(true); }},
          {"include_usage", [](ChatRequest& r) { r.set_include_usage(true); }},
          {"user", [](ChatRequest& r) { r.set_user("end-user-7"); }},
          {"metadata",
           [](ChatRequest& r) {
             const std::string key = "trace", value = "x";
             r.mutable_metadata()->insert({key, value});
           }},
          {"request id",
           [](ChatRequest& r) {
             r.mutable_context()->set_request_id("req-9");
           }},
          {"traceparent",
           [](ChatRequest& r) {
             r.mutable_context()->set_traceparent(
                 "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
           }},
          {"cache mode",
           [](ChatRequest& r) {
             r.mutable_context()->set_cache_mode("refresh");
           }},
          // The alias the client named: the resolved model is what counts.
          {"request model", [](ChatRequest& r) { r.set_model("other-alias"); }},
      };
  for (auto& [name, change] : cases) {
    SCOPED_TRACE(name);
    ChatRequest request = BaseRequest();
    change(request);
    EXPECT_EQ(Key(request), base);
  }
}

TEST(CacheKeyTest, ChangesWithWhatChangesTheAnswer) {
  const std::string base = Key(BaseRequest());
  std::vector<std::pair<std::string, std::function<void(ChatRequest&)>>> cases =
      {
          {"message text",
           [](ChatRequest& r) { r.mutable_messages(1)->set_text("2+3?"); }},
          {"message role",
           [](ChatRequest& r) {
             r.mutable_messages(0)->set_role("developer");
           }},
          {"extra message",
           [](ChatRequest& r) { r.add_messages()->set_role("user"); }},
          {"tool call arguments value",
           [](ChatRequest& r) {
             r.mutable_messages(2)
                 ->mutable_tool_calls(0)
                 ->set_function_arguments(R"({"a":2,"b":3})");
           }},
          {"temperature", [](ChatRequest& r) { r.set_temperature(0.5); }},
          {"temperature unset", [](ChatRequest& r) { r.clear_temperature(); }},
          {"seed", [](ChatRequest& r) { r.set_seed(7); }},
          {"max tokens", [](ChatRequest& r) { r.set_max_tokens(101); }},
          {"stop", [](ChatRequest& r) { r.set_stops(0, "END"); }},
          {"extra stop", [](ChatRequest& r) { r.add_stops("END"); }},
          {"tools",
           [](ChatRequest& r) {
             r.set_tools_json(
                 R"([{"type":"function","function":{"name":"sub"}}])");
           }},
          {"no tools", [](ChatRequest& r) { r.clear_tools_json(); }},
          {"tool choice",
           [](ChatRequest& r) { r.set_tool_choice_json(R"("none")"); }},
          {"response format",
           [](ChatRequest& r) {
             r.set_response_format_json(R"({"type":"text"})");
           }},
          {"extra",
           [](ChatRequest& r) {
             r.set_extra_json(
                 R"({"reasoning_effort":"high","thinking":{"type":"on"}})");
           }},
          {"top_p", [](ChatRequest& r) { r.set_top_p(0.9); }},
          {"n", [](ChatRequest& r) { r.set_n(2); }},
      };
  for (auto& [name, change] : cases) {
    SCOPED_TRACE(name);
    ChatRequest request = BaseRequest();
    change(request);
    EXPECT_NE(Key(request), base);
  }
}

TEST(CacheKeyTest, ChangesWithTenantAndResolvedModel) {
  const ChatRequest request = BaseRequest();
  const std::string base = CacheKey(request, "acme", "openai/gpt-4o");
  EXPECT_NE(CacheKey(request, "globex", "openai/gpt-4o"), base);
  EXPECT_NE(CacheKey(request, "acme", "openai/gpt-4o-mini"), base);
  EXPECT_NE(CacheKey(request, "", "openai/gpt-4o"), base);
}

TEST(CacheKeyTest, TenantAndModelBoundaryMatters) {
  const ChatRequest request = BaseRequest();
  EXPECT_NE(CacheKey(request, "ab", "c"), CacheKey(request, "a", "bc"));
  EXPECT_NE(CacheKey(request, "a1:", "b"), CacheKey(request, "a", "1:b"));
  EXPECT_NE(CacheKey(request, "", "ab"), CacheKey(request, "ab", ""));
}

TEST(CacheKeyTest, MaxTokensAndMaxCompletionTokensAreTheSameLimit) {
  ChatRequest legacy = BaseRequest();
  legacy.set_max_tokens(256);
  ChatRequest modern = BaseRequest();
  modern.clear_max_tokens();
  modern.set_max_completion_tokens(256);
  EXPECT_EQ(Key(legacy), Key(modern));

  ChatRequest other = BaseRequest();
  other.clear_max_tokens();
  other.set_max_completion_tokens(257);
  EXPECT_NE(Key(legacy), Key(other));
}

TEST(CacheKeyTest, NoJsonTextsStillKeys) {
  ChatRequest bare;
  bare.add_messages()->set_text("hi");
  ChatRequest other = bare;
  other.mutable_messages(0)->set_text("ho");
  EXPECT_EQ(Key(bare).size(), 64u);
  EXPECT_NE(Key(bare), Key(other));
}

// ------------------------------------------------------------ CanonicalJson

TEST(CanonicalJsonTest, SortsNestedKeysAndStripsWhitespace) {
  EXPECT_EQ(
      CanonicalJson(
          R"( { "b" : { "z" : 1 , "y" : [ { "d" : true , "c" : null } ] } ,
                                "a" : "x  y" } )"),
      R"({"a":"x  y","b":{"y":[{"c":null,"d":true}],"z":1}})");
}

TEST(CanonicalJsonTest, KeepsArrayOrder) {
  EXPECT_EQ(CanonicalJson("[ 3, 1, 2 ]"), "[3,1,2]");
}

TEST(CanonicalJsonTest, IsIdempotent) {
  std::string once =
      CanonicalJson(R"({"b":[{"y":1,"x":2}],"a":{"d":0,"c":"s"}})");
  EXPECT_EQ(CanonicalJson(once), once);
}

TEST(CanonicalJsonTest, LeavesNonJsonUnchanged) {
  for (absl::string_view text :
       {absl::string_view(""), absl::string_view("not json"),
        absl::string_view("{\"a\": 1"), absl::string_view("{\"a\":1} trailing"),
        absl::string_view("{'a': 1}")}) {
    EXPECT_EQ(CanonicalJson(text), text);
  }
}

TEST(CanonicalJsonTest, LeavesAbsurdlyDeepJsonUnchanged) {
  const int depth = 200'000;
  std::string arrays = std::string(depth, '[') + std::string(depth, ']');
  EXPECT_EQ(CanonicalJson(arrays), arrays);

  std::string objects;
  for (int i = 0; i < depth; ++i) objects += "{\"k\":";
  objects += "1";
  objects += std::string(depth, '}');
  EXPECT_EQ(CanonicalJson(objects), objects);
}

// ----------------------------------------------------- EncodeAnswer/Decode

CachedAnswer Answer(const std::string& text) {
  CachedAnswer answer;
  ChatResponse* response = answer.mutable_response();
  response->set_id("chatcmpl-1");
  response->set_created(1'700'000'000);
  response->set_model("gpt-4o");
  auto* choice = response->add_choices();
  choice->mutable_message()->set_role("assistant");
  choice->mutable_message()->set_text(text);
  choice->set_finish_reason("stop");
  response->mutable_usage()->set_prompt_tokens(12);
  response->mutable_usage()->set_completion_tokens(34);
  for (int i = 0; i < 3; ++i) {
    ChatChunk* chunk = answer.add_chunks();
    chunk->set_id("chatcmpl-1");
    chunk->add_choices();
  }
  return answer;
}

std::string Repetitive(size_t bytes) {
  std::string text;
  while (text.size() < bytes) {
    text += "The quick brown fox jumps over the lazy dog. ";
  }
  return text;
}

TEST(AnswerCodecTest, SmallAnswerIsStoredRawAndRoundTrips) {
  CachedAnswer answer = Answer("4");
  std::string encoded = EncodeAnswer(answer);
  ASSERT_FALSE(encoded.empty());
  EXPECT_EQ(encoded[0], 'r');
  EXPECT_EQ(encoded.size(), answer.SerializeAsString().size() + 1);
  absl::StatusOr<CachedAnswer> decoded = DecodeAnswer(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*decoded, answer));
}

TEST(AnswerCodecTest, LargeRepetitiveAnswerIsCompressedAndRoundTrips) {
  CachedAnswer answer = Answer(Repetitive(20 * 1024));
  std::string encoded = EncodeAnswer(answer);
  ASSERT_FALSE(encoded.empty());
  EXPECT_EQ(encoded[0], 'z');
  EXPECT_LT(encoded.size(), answer.SerializeAsString().size());
  absl::StatusOr<CachedAnswer> decoded = DecodeAnswer(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*decoded, answer));
}

TEST(AnswerCodecTest, EmptyAnswerRoundTrips) {
  absl::StatusOr<CachedAnswer> decoded =
      DecodeAnswer(EncodeAnswer(CachedAnswer()));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_FALSE(decoded->has_response());
}

void ExpectDataLoss(absl::string_view bytes) {
  absl::StatusOr<CachedAnswer> decoded = DecodeAnswer(bytes);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss)
      << decoded.status();
}

TEST(AnswerCodecTest, EmptyBytesAreDataLoss) { ExpectDataLoss(""); }

TEST(AnswerCodecTest, UnknownFormatByteIsDataLoss) {
  std::string encoded = EncodeAnswer(Answer("4"));
  encoded[0] = 'x';
  ExpectDataLoss(encoded);
  ExpectDataLoss(std::string(1, '\0'));
}

TEST(AnswerCodecTest, CorruptRawBytesAreDataLoss) {
  ExpectDataLoss("r\xff\xff\xff\xff");
  // Field 1 (response) claims 100 bytes; 2 follow.
  ExpectDataLoss(std::string("r\x0a\x64\x01\x02", 5));
}

TEST(AnswerCodecTest, CorruptZstdBytesAreDataLoss) {
  ExpectDataLoss("z");
  ExpectDataLoss("znot a zstd frame at all");
  std::string encoded = EncodeAnswer(Answer(Repetitive(20 * 1024)));
  ASSERT_EQ(encoded[0], 'z');
  // Raw bytes behind a zstd header byte.
  ExpectDataLoss(absl::StrCat("z", EncodeAnswer(Answer("4")).substr(1)));
  // A compressed body behind the raw header byte.
  std::string swapped = encoded;
  swapped[0] = 'r';
  absl::StatusOr<CachedAnswer> decoded = DecodeAnswer(swapped);
  EXPECT_TRUE(decoded.ok() ||
              decoded.status().code() == absl::StatusCode::kDataLoss)
      << decoded.status();
  EXPECT_FALSE(decoded.ok() && MessageDifferencer::Equals(
                                   *decoded, Answer(Repetitive(20 * 1024))));
}

TEST(AnswerCodecTest, TruncatedZstdFrameIsDataLoss) {
  std::string encoded = EncodeAnswer(Answer(Repetitive(20 * 1024)));
  ASSERT_EQ(encoded[0], 'z');
  for (size_t cut :
       {size_t{1}, size_t{4}, encoded.size() / 2, encoded.size() - 2}) {
    SCOPED_TRACE(cut);
    ExpectDataLoss(absl::string_view(encoded).substr(0, encoded.size() - cut));
  }
}

// Any damage decodes to OK (a flip that still parses) or DATA_LOSS: never a
// crash or another code. Repeatable: a fixed seed.
TEST(AnswerCodecTest, RandomByteFlipsAreOkOrDataLoss) {
  // Flipped string bytes make protobuf log invalid UTF-8 once per parse.
  google::protobuf::LogSilencer quiet;
  std::mt19937 rng(20261123);
  for (const CachedAnswer& answer :
       {Answer("a short answer"), Answer(Repetitive(20 * 1024))}) {
    const std::string encoded = EncodeAnswer(answer);
    std::uniform_int_distribution<size_t> position(0, encoded.size() - 1);
    std::uniform_int_distribution<int> mask(1, 255);
    int data_loss = 0;
    for (int i = 0; i < 2000; ++i) {
      std::string damaged = encoded;
      size_t at = position(rng);
      damaged[at] = static_cast<char>(damaged[at] ^ mask(rng));
      absl::StatusOr<CachedAnswer> decoded = DecodeAnswer(damaged);
      if (!decoded.ok()) {
        ASSERT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss)
            << "flip at " << at << ": " << decoded.status();
        ++data_loss;
      }
    }
    // Damage is noticed at least some of the time (the format byte alone).
    EXPECT_GT(data_loss, 0);
  }
}

// -------------------------------------------------------------- FlightTable

// Records what a follower was told.
class RecordingListener : public FlightListener {
 public:
  void OnChunk(const ChatChunk& chunk) override {
    chunks.push_back(chunk.id());
  }
  void OnDone(const ChatResponse& response) override {
    done = response.id();
    ++ends;
  }
  void OnFailed() override {
    failed = true;
    ++ends;
  }

  std::vector<std::string> chunks;
  std::optional<std::string> done;
  bool failed = false;
  int ends = 0;
};

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

ChatChunk NamedChunk(const std::string& id) {
  ChatChunk chunk;
  chunk.set_id(id);
  return chunk;
}

ChatResponse NamedResponse(const std::string& id) {
  ChatResponse response;
  response.set_id(id);
  return response;
}

TEST(FlightTableTest, FirstLeadsWithLeaseOfKeyAndId) {
  FlightTable table;
  RecordingListener leader;
  FlightTable::Joined joined = table.JoinOrLead("k1", &leader, kT0);
  EXPECT_TRUE(joined.lead);
  ASSERT_EQ(joined.lease.rfind("k1:", 0), 0u) << joined.lease;
  uint64_t id = 0;
  EXPECT_TRUE(absl::SimpleAtoi(absl::string_view(joined.lease).substr(3), &id))
      << joined.lease;
  EXPECT_EQ(FlightTable::KeyOf(joined.lease), "k1");
  EXPECT_EQ(table.in_flight(), 1u);
  // The leader's listener is not a follower: it hears nothing.
  EXPECT_TRUE(leader.chunks.empty());
}

TEST(FlightTableTest, FollowerGetsChunksSoFarThenLiveThenDone) {
  FlightTable table;
  RecordingListener leader_listener;
  FlightTable::Joined lead = table.JoinOrLead("k", &leader_listener, kT0);
  ASSERT_TRUE(lead.lead);
  ASSERT_TRUE(table.BeginFill(lead.lease));
  ASSERT_TRUE(table.Chunk(lead.lease, NamedChunk("c1")));
  ASSERT_TRUE(table.Chunk(lead.lease, NamedChunk("c2")));

  RecordingListener follower;
  FlightTable::Joined joined =
      table.JoinOrLead("k", &follower, kT0 + absl::Seconds(1));
  EXPECT_FALSE(joined.lead);
  EXPECT_EQ(joined.lease, "");
  // The chunks so far, before JoinOrLead returned.
  EXPECT_EQ(follower.chunks, (std::vector<std::string>{"c1", "c2"}));

  ASSERT_TRUE(table.Chunk(lead.lease, NamedChunk("c3")));
  EXPECT_EQ(follower.chunks, (std::vector<std::string>{"c1", "c2", "c3"}));
  EXPECT_EQ(follower.ends, 0);

  ASSERT_TRUE(table.Done(lead.lease, NamedResponse("resp")));
  EXPECT_EQ(follower.done, "resp");
  EXPECT_FALSE(follower.failed);
  EXPECT_EQ(follower.ends, 1);
  EXPECT_EQ(table.in_flight(), 0u);
  EXPECT_TRUE(leader_listener.chunks.empty());
  EXPECT_EQ(leader_listener.ends, 0);
}

TEST(FlightTableTest, EveryFollowerHearsEachChunkOnce) {
  FlightTable table;
  RecordingListener leader, a, b;
  FlightTable::Joined lead = table.JoinOrLead("k", &leader, kT0);
  ASSERT_TRUE(table.Chunk(lead.lease, NamedChunk("c1")));
  table.JoinOrLead("k", &a, kT0);
  ASSERT_TRUE(table.Chunk(lead.lease, NamedChunk("c2")));
  table.JoinOrLead("k", &b, kT0);
  ASSERT_TRUE(table.Done(lead.lease, NamedResponse("r")));
  EXPECT_EQ(a.chunks, (std::vector<std::string>{"c1", "c2"}));
  EXPECT_EQ(b.chunks, (std::vector<std::string>{"c1", "c2"}));
  EXPECT_EQ(a.done, "r");
  EXPECT_EQ(b.done, "r");
}

TEST(FlightTableTest, FailTellsFollowersAndTheNextLeadsAfresh) {
  FlightTable table;
  RecordingListener leader, follower;
  FlightTable::Joined first = table.JoinOrLead("k", &leader, kT0);
  ASSERT_TRUE(first.lead);
  table.JoinOrLead("k", &follower, kT0);
  ASSERT_TRUE(table.Fail(first.lease));
  EXPECT_TRUE(follower.failed);
  EXPECT_FALSE(follower.done.has_value());
  EXPECT_EQ(follower.ends, 1);
  EXPECT_EQ(table.in_flight(), 0u);

  RecordingListener next;
  FlightTable::Joined second = table.JoinOrLead("k", &next, kT0);
  EXPECT_TRUE(second.lead);
  EXPECT_NE(second.lease, first.lease);
  EXPECT_EQ(FlightTable::KeyOf(second.lease), "k");
  // The follower of the failed flight hears nothing more.
  ASSERT_TRUE(table.Done(second.lease, NamedResponse("r")));
  EXPECT_EQ(follower.ends, 1);
}

TEST(FlightTableTest, StaleLeasesAreIgnored) {
  FlightTable table;
  RecordingListener l;
  FlightTable::Joined done_lease = table.JoinOrLead("done", &l, kT0);
  ASSERT_TRUE(table.Done(done_lease.lease, NamedResponse("r")));
  FlightTable::Joined failed_lease = table.JoinOrLead("failed", &l, kT0);
  ASSERT_TRUE(table.Fail(failed_lease.lease));

  for (const std::string& lease : {done_lease.lease, failed_lease.lease}) {
    SCOPED_TRACE(lease);
    EXPECT_FALSE(table.BeginFill(lease));
    EXPECT_FALSE(table.Chunk(lease, NamedChunk("c")));
    EXPECT_FALSE(table.Done(lease, NamedResponse("r")));
    EXPECT_FALSE(table.Fail(lease));
  }
  EXPECT_EQ(table.in_flight(), 0u);
}

TEST(FlightTableTest, StaleLeaseDoesNotTouchTheNewFlightOfItsKey) {
  FlightTable table;
  RecordingListener leader, follower;
  FlightTable::Joined old_flight = table.JoinOrLead("k", &leader, kT0);
  ASSERT_TRUE(table.Fail(old_flight.lease));
  FlightTable::Joined new_flight = table.JoinOrLead("k", &leader, kT0);
  ASSERT_TRUE(new_flight.lead);
  table.JoinOrLead("k", &follower, kT0);

  EXPECT_FALSE(table.Chunk(old_flight.lease, NamedChunk("old")));
  EXPECT_FALSE(table.Done(old_flight.lease, NamedResponse("old")));
  EXPECT_FALSE(table.Fail(old_flight.lease));
  table.FailIfNotFilling(old_flight.lease);
  EXPECT_TRUE(follower.chunks.empty());
  EXPECT_EQ(follower.ends, 0);
  EXPECT_EQ(table.in_flight(), 1u);
}

TEST(FlightTableTest, MalformedLeasesAreIgnored) {
  FlightTable table;
  RecordingListener l;
  ASSERT_TRUE(table.JoinOrLead("k", &l, kT0).lead);
  for (const std::string& lease :
       {std::string("k"), std::string("k:"), std::string("k:x"),
        std::string(""), std::string("k:999")}) {
    SCOPED_TRACE(lease);
    EXPECT_FALSE(table.BeginFill(lease));
    EXPECT_FALSE(table.Chunk(lease, NamedChunk("c")));
    EXPECT_FALSE(table.Fail(lease));
  }
  EXPECT_EQ(table.in_flight(), 1u);
}

TEST(FlightTableTest, FlightNotFillingPastDeadlineIsReplaced) {
  FlightTable table(absl::Seconds(10), absl::Minutes(15));
  RecordingListener leader, follower, next;
  FlightTable::Joined first = table.JoinOrLead("k", &leader, kT0);
  ASSERT_TRUE(first.lead);
  // Within the deadline: follow.
  EXPECT_FALSE(table.JoinOrLead("k", &follower, kT0 + absl::Seconds(10)).lead);

  FlightTable::Joined second =
      table.JoinOrLead("k", &next, kT0 + absl::Seconds(11));
  EXPECT_TRUE(second.lead);
  EXPECT_NE(second.lease, first.lease);
  EXPECT_TRUE(follower.failed);
  EXPECT_EQ(follower.ends, 1);
  EXPECT_EQ(table.in_flight(), 1u);
  // The replaced leader's lease is stale.
  EXPECT_FALSE(table.BeginFill(first.lease));
  EXPECT_FALSE(table.Chunk(first.lease, NamedChunk("late")));
  EXPECT_TRUE(table.BeginFill(second.lease));
}

TEST(FlightTableTest, FillingFlightOutlivesFillDeadline) {
  FlightTable table(absl::Seconds(10), absl::Minutes(15));
  RecordingListener leader, follower;
  FlightTable::Joined first = table.JoinOrLead("k", &leader, kT0);
  ASSERT_TRUE(table.BeginFill(first.lease));
  EXPECT_FALSE(table.JoinOrLead("k", &follower, kT0 + absl::Minutes(5)).lead);
  EXPECT_FALSE(follower.failed);
  ASSERT_TRUE(table.Done(first.lease, NamedResponse("r")));
  EXPECT_EQ(follower.done, "r");
}

TEST(FlightTableTest, FlightOlderThanMaxAgeIsReplacedEvenWhenFilling) {
  FlightTable table(absl::Seconds(10), absl::Minutes(15));
  RecordingListener leader, follower, next;
  FlightTable::Joined first = table.JoinOrLead("k", &leader, kT0);
  ASSERT_TRUE(table.BeginFill(first.lease));
  table.JoinOrLead("k", &follower, kT0 + absl::Minutes(1));
  FlightTable::Joined second =
      table.JoinOrLead("k", &next, kT0 + absl::Minutes(16));
  EXPECT_TRUE(second.lead);
  EXPECT_TRUE(follower.failed);
  EXPECT_FALSE(table.Done(first.lease, NamedResponse("late")));
}

TEST(FlightTableTest, FailIfNotFillingFailsOnlyFlightsNotFilling) {
  FlightTable table;
  RecordingListener leader, idle_follower, busy_follower;
  FlightTable::Joined idle = table.JoinOrLead("idle", &leader, kT0);
  FlightTable::Joined busy = table.JoinOrLead("busy", &leader, kT0);
  table.JoinOrLead("idle", &idle_follower, kT0);
  table.JoinOrLead("busy", &busy_follower, kT0);
  ASSERT_TRUE(table.BeginFill(busy.lease));
  ASSERT_EQ(table.in_flight(), 2u);

  table.FailIfNotFilling(idle.lease);
  table.FailIfNotFilling(busy.lease);
  EXPECT_TRUE(idle_follower.failed);
  EXPECT_FALSE(busy_follower.failed);
  EXPECT_EQ(busy_follower.ends, 0);
  EXPECT_EQ(table.in_flight(), 1u);
  EXPECT_FALSE(table.BeginFill(idle.lease));
  EXPECT_TRUE(table.Chunk(busy.lease, NamedChunk("c")));
  EXPECT_EQ(busy_follower.chunks, (std::vector<std::string>{"c"}));
}

TEST(FlightTableTest, InFlightCountsKeys) {
  FlightTable table;
  RecordingListener l, f;
  EXPECT_EQ(table.in_flight(), 0u);
  FlightTable::Joined a = table.JoinOrLead("a", &l, kT0);
  FlightTable::Joined b = table.JoinOrLead("b", &l, kT0);
  table.JoinOrLead("a", &f, kT0);  // a follower adds no flight
  EXPECT_EQ(table.in_flight(), 2u);
  ASSERT_TRUE(table.Done(a.lease, NamedResponse("r")));
  EXPECT_EQ(table.in_flight(), 1u);
  ASSERT_TRUE(table.Fail(b.lease));
  EXPECT_EQ(table.in_flight(), 0u);
}

TEST(FlightTableTest, KeyOfSplitsAtTheLastColon) {
  EXPECT_EQ(FlightTable::KeyOf("abc:12"), "abc");
  EXPECT_EQ(FlightTable::KeyOf("tenant:model:hash:3"), "tenant:model:hash");
  EXPECT_EQ(FlightTable::KeyOf("nocolon"), "");
}

TEST(FlightTableTest, KeysWithColonsLeadAndFinish) {
  FlightTable table;
  RecordingListener leader, follower;
  FlightTable::Joined lead = table.JoinOrLead("a:b", &leader, kT0);
  ASSERT_TRUE(lead.lead);
  EXPECT_EQ(FlightTable::KeyOf(lead.lease), "a:b");
  table.JoinOrLead("a:b", &follower, kT0);
  ASSERT_TRUE(table.Done(lead.lease, NamedResponse("r")));
  EXPECT_EQ(follower.done, "r");
  EXPECT_EQ(table.in_flight(), 0u);
}

}  // namespace
}  // namespace sluice::cache

namespace sluice::cache {
namespace {

// A flight that just ended stored its answer before leaving the table: a
// caller whose cache read raced that store is told so instead of leading a
// second upstream call.
TEST(FlightTableStoredTest, NoFlightButStoredMeanwhileIsServed) {
  FlightTable table;
  absl::Time now = absl::FromUnixSeconds(1000);
  bool asked = false;
  FlightTable::Joined joined =
      table.JoinOrLead("k", nullptr, now, [&asked] {
        asked = true;
        return true;
      });
  EXPECT_TRUE(asked);
  EXPECT_TRUE(joined.served);
  EXPECT_FALSE(joined.lead);
  EXPECT_EQ(table.in_flight(), 0u);
  // Not stored: lead as before; and with a flight in flight, not asked.
  joined = table.JoinOrLead("k", nullptr, now, [] { return false; });
  EXPECT_TRUE(joined.lead);
  asked = false;
  class Quiet : public FlightListener {
    void OnChunk(const sluice::v1::ChatChunk&) override {}
    void OnDone(const sluice::v1::ChatResponse&) override {}
    void OnFailed() override {}
  } follower;
  joined = table.JoinOrLead("k", &follower, now, [&asked] {
    asked = true;
    return true;
  });
  EXPECT_FALSE(asked);
  EXPECT_FALSE(joined.lead);
  EXPECT_FALSE(joined.served);
  table.Fail(joined.lease);
}

}  // namespace
}  // namespace sluice::cache
