// The tracer: which spans are recorded (sampled parents only, nothing while
// stopped), how they link to their parents, and that a full queue drops
// rather than grows.
#include "libs/trace/tracer.h"

#include <memory>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "libs/obs/trace_context.h"
#include "libs/trace/active_span.h"

namespace sluice::trace {
namespace {

// Keeps what it is given (shared with the test, which outlives the tracer's
// use of it).
struct Kept {
  absl::Mutex mu;
  std::vector<sluice::v1::Span> spans;
};

class KeepingExporter final : public SpanExporter {
 public:
  explicit KeepingExporter(std::shared_ptr<Kept> kept) : kept_(kept) {}
  absl::Status Export(sluice::v1::SpanBatch batch) override {
    absl::MutexLock lock(&kept_->mu);
    for (auto& span : *batch.mutable_spans()) {
      kept_->spans.push_back(std::move(span));
    }
    return absl::OkStatus();
  }
  const char* name() const override { return "test"; }

 private:
  std::shared_ptr<Kept> kept_;
};

constexpr char kParent[] =
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
constexpr char kUnsampledParent[] =
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";

class TracerTest : public ::testing::Test {
 protected:
  void StartTracer(TracerOptions options = {}) {
    options.service_name = "sluice-test";
    tracer_.Start(options);
    tracer_.AddExporter(std::make_unique<KeepingExporter>(kept_));
  }
  std::vector<sluice::v1::Span> Flushed() {
    tracer_.Flush();
    absl::MutexLock lock(&kept_->mu);
    return kept_->spans;
  }

  std::shared_ptr<Kept> kept_ = std::make_shared<Kept>();
  Tracer tracer_;
};

TEST_F(TracerTest, AChildSpanJoinsItsParentsTrace) {
  StartTracer();
  ActiveSpan span = ActiveSpan::Start("route m", SpanKind::kInternal, kParent,
                                      "req_1", absl::Now(), tracer_);
  ASSERT_TRUE(span.recording());
  span.SetString("sluice.task", "simple_qa").SetInt("sluice.attempts", 2);
  // Calls made for the span carry its own id, in the parent's trace.
  absl::StatusOr<obs::TraceContext> carried =
      obs::ParseTraceparent(span.traceparent());
  ASSERT_TRUE(carried.ok());
  EXPECT_EQ(carried->TraceIdHex(), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_NE(carried->SpanIdHex(), "b7ad6b7169203331");
  span.SetOk().End();
  span.End();  // once only

  std::vector<sluice::v1::Span> spans = Flushed();
  ASSERT_EQ(spans.size(), 1u);
  const sluice::v1::Span& kept = spans[0];
  EXPECT_EQ(kept.trace_id(), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(kept.span_id(), carried->SpanIdHex());
  EXPECT_EQ(kept.parent_span_id(), "b7ad6b7169203331");
  EXPECT_EQ(kept.name(), "route m");
  EXPECT_EQ(kept.kind(), 1);
  EXPECT_EQ(kept.request_id(), "req_1");
  EXPECT_EQ(kept.service(), "sluice-test");
  EXPECT_EQ(kept.status_code(), 1);
  EXPECT_LE(kept.start_unix_nano(), kept.end_unix_nano());
  ASSERT_EQ(kept.attributes_size(), 2);
  EXPECT_EQ(kept.attributes(0).string_value(), "simple_qa");
  EXPECT_EQ(kept.attributes(1).int_value(), 2);
}

TEST_F(TracerTest, NothingIsRecordedUnsampledOrWhileStopped) {
  // Not started: spans record nothing and pass the parent on.
  ActiveSpan before = ActiveSpan::Start("a", SpanKind::kInternal, kParent,
                                        "req_1", absl::Now(), tracer_);
  EXPECT_FALSE(before.recording());
  EXPECT_EQ(before.traceparent(), kParent);

  StartTracer();
  EXPECT_FALSE(ActiveSpan::Start("b", SpanKind::kInternal, kUnsampledParent,
                                 "req_1", absl::Now(), tracer_)
                   .recording());
  EXPECT_FALSE(ActiveSpan::Start("c", SpanKind::kInternal, "", "req_1",
                                 absl::Now(), tracer_)
                   .recording());
  EXPECT_FALSE(ActiveSpan::Start("d", SpanKind::kInternal, "not-a-traceparent",
                                 "req_1", absl::Now(), tracer_)
                   .recording());
  EXPECT_TRUE(Flushed().empty());

  // A span that ends when it goes out of scope.
  {
    ActiveSpan scoped = ActiveSpan::Start("e", SpanKind::kClient, kParent,
                                          "req_2", absl::Now(), tracer_);
    EXPECT_TRUE(scoped.recording());
  }
  EXPECT_EQ(Flushed().size(), 1u);
}

TEST_F(TracerTest, SampleRatioDecidesNewTraces) {
  TracerOptions none;
  none.sample_ratio = 0;
  StartTracer(none);
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(tracer_.SampleNewTrace());
  TracerOptions half;
  half.sample_ratio = 0.5;
  StartTracer(half);
  int sampled = 0;
  for (int i = 0; i < 2000; ++i) sampled += tracer_.SampleNewTrace() ? 1 : 0;
  EXPECT_GT(sampled, 800);
  EXPECT_LT(sampled, 1200);
}

TEST_F(TracerTest, AFullQueueDropsSpans) {
  TracerOptions small;
  small.max_queued_spans = 5;
  small.export_interval = absl::Hours(1);  // only Flush() exports
  StartTracer(small);
  for (int i = 0; i < 8; ++i) {
    ActiveSpan::Start("s", SpanKind::kInternal, kParent, "req_1", absl::Now(),
                      tracer_)
        .End();
  }
  EXPECT_EQ(Flushed().size(), 5u);
}

TEST_F(TracerTest, TheThreadExportsWithoutAFlush) {
  TracerOptions quick;
  quick.export_interval = absl::Milliseconds(20);
  StartTracer(quick);
  ActiveSpan::Start("s", SpanKind::kInternal, kParent, "req_1", absl::Now(),
                    tracer_)
      .End();
  auto exported = [this] {
    absl::MutexLock lock(&kept_->mu);
    return !kept_->spans.empty();
  };
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!exported() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_TRUE(exported());
}

}  // namespace
}  // namespace sluice::trace

namespace sluice::trace {
namespace {

TEST(TakeFrontTest, MovesTheFirstSpansInOrder) {
  sluice::v1::SpanBatch from;
  for (int i = 0; i < 5; ++i) from.add_spans()->set_name(std::to_string(i));
  sluice::v1::SpanBatch to;
  to.add_spans()->set_name("x");
  TakeFront(from, 2, to);
  ASSERT_EQ(to.spans_size(), 3);
  EXPECT_EQ(to.spans(1).name(), "0");
  EXPECT_EQ(to.spans(2).name(), "1");
  ASSERT_EQ(from.spans_size(), 3);
  EXPECT_EQ(from.spans(0).name(), "2");
  sluice::v1::SpanBatch empty;
  TakeFront(from, 10, empty);  // all of it, by a swap
  EXPECT_EQ(empty.spans_size(), 3);
  EXPECT_EQ(from.spans_size(), 0);
}

}  // namespace
}  // namespace sluice::trace
