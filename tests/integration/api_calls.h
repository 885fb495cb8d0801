// Calls on a test gateway's HTTP API as one key or another, for tests that
// play several tenants: chat bodies, files and batches, and waiting for an
// answer (usage, traces, a batch's status) to come right, with a deadline;
// and its Kafka topics through kcat (jobs in, what the gateway wrote out).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "rapidjson/document.h"
#include "tests/integration/gateway_fixture.h"
#include "tests/support/http_test_client.h"

namespace sluice::testing {

// How long the Await* helpers wait.
inline constexpr absl::Duration kApiWait = absl::Seconds(60);

// "Authorization: Bearer <key>".
std::string Bearer(const std::string& key);
// `method` `path` on the gateway as `key` (none when empty), with a JSON
// body.
HttpAnswer Call(const Gateway& gateway, const std::string& method,
                const std::string& path, const std::string& key,
                const std::string& body = "");
rapidjson::Document Json(const std::string& text);
// The string member `name` of `value`; empty when it has none.
std::string Member(const rapidjson::Value& value, const char* name);
// A chat request's body asking `content`.
std::string Ask(const std::string& content,
                const std::string& model = "deepseek-chat",
                bool stream = false);
// `n` random characters of [A-Za-z0-9].
std::string RandomText(int n);

// POST /v1/files (multipart/form-data, purpose batch) as `key`.
HttpAnswer Upload(const Gateway& gateway, const std::string& jsonl,
                  const std::string& key);
// `lines` batch lines asking `content` (custom ids "<prefix>-<i>").
std::string BatchLines(const std::string& prefix, int lines,
                       const std::string& content = "a batch line");
// POST /v1/batches of `file_id`, to run at once.
HttpAnswer CreateBatch(const Gateway& gateway, const std::string& file_id,
                       const std::string& key);
// Polls the batch until its status is `status`; the batch (a test failure
// when it never gets there).
rapidjson::Document AwaitBatch(const Gateway& gateway, const std::string& id,
                               const std::string& key,
                               const std::string& status);
// Polls GET `path` as `key` until it answers 200 and `ready` says so of the
// body; the last answer (a test failure when it never does).
HttpAnswer AwaitAnswer(const Gateway& gateway, const std::string& path,
                       const std::string& key,
                       const std::function<bool(const std::string&)>& ready);
// Whether a GET /v1/usage/requests/{id}/trace body holds the upstream
// call's span (OTLP kind 3, client).
bool HasUpstreamSpan(const std::string& body);

// Runs a shell command line to its end; its stdout (a test failure when it
// fails).
std::string Shell(const std::string& command);
// kcat -P: a job on sluice.jobs asking `content`, with `key` in its
// `authorization` header.
void ProduceJob(const Gateway& gateway, const std::string& custom_id,
                const std::string& key, const std::string& content);
// kcat -P: one job per custom id, each asking "job <custom id>", all with
// `key` in their `authorization` header.
void ProduceJobs(const Gateway& gateway,
                 const std::vector<std::string>& custom_ids,
                 const std::string& key);
// kcat -C until `topic` holds `count` messages (0: whatever it holds);
// their values (a test failure when it never holds that many).
std::vector<std::string> ReadTopic(const Gateway& gateway,
                                   const std::string& topic, size_t count);

}  // namespace sluice::testing
