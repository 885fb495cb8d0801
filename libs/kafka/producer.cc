// Producer: rd_kafka_producev with a per-message callback as the opaque, and a
// thread serving delivery reports.
#include "libs/kafka/producer.h"

#include "libs/process/thread_name.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace sluice::kafka {
namespace {

// How long Produce keeps retrying a full local queue before failing the
// message (through its callback).
constexpr absl::Duration kQueueFullPatience = absl::Seconds(2);

absl::Status ToStatus(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      return absl::OkStatus();
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
      return absl::ResourceExhaustedError(
          absl::StrCat("kafka produce: ", rd_kafka_err2str(err)));
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
      return absl::DeadlineExceededError(
          absl::StrCat("kafka produce: ", rd_kafka_err2str(err)));
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
      return absl::CancelledError(
          absl::StrCat("kafka produce: ", rd_kafka_err2str(err)));
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
      return absl::InvalidArgumentError(
          absl::StrCat("kafka produce: ", rd_kafka_err2str(err)));
    default:
      return absl::UnavailableError(
          absl::StrCat("kafka produce: ", rd_kafka_err2str(err)));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Producer>> Producer::Create(
    const ProducerOptions& options) {
  KafkaSettings settings = {{"bootstrap.servers", options.brokers},
                            {"client.id", options.client_id},
                            {"enable.idempotence", "true"},
                            {"acks", "all"},
                            {"linger.ms", "20"}};
  settings.insert(settings.end(), options.extra.begin(), options.extra.end());
  absl::StatusOr<rd_kafka_conf_t*> conf = MakeConfig(settings);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_dr_msg_cb(*conf, &Producer::OnDelivery);
  char error[512];
  rd_kafka_t* handle =
      rd_kafka_new(RD_KAFKA_PRODUCER, *conf, error, sizeof(error));
  if (handle == nullptr) {
    rd_kafka_conf_destroy(*conf);
    return absl::InvalidArgumentError(absl::StrCat("kafka producer: ", error));
  }
  // A topic created now with its own configuration keeps it: producing by
  // name later finds this topic object.
  std::vector<rd_kafka_topic_t*> topics;
  for (const auto& [name, topic_settings] : options.topic_settings) {
    rd_kafka_topic_conf_t* topic_conf = rd_kafka_topic_conf_new();
    for (const auto& [key, value] : topic_settings) {
      if (rd_kafka_topic_conf_set(topic_conf, key.c_str(), value.c_str(), error,
                                  sizeof(error)) != RD_KAFKA_CONF_OK) {
        rd_kafka_topic_conf_destroy(topic_conf);
        for (rd_kafka_topic_t* topic : topics) rd_kafka_topic_destroy(topic);
        rd_kafka_destroy(handle);
        return absl::InvalidArgumentError(
            absl::StrCat("kafka topic ", name, ": ", key, ": ", error));
      }
    }
    topics.push_back(rd_kafka_topic_new(handle, name.c_str(), topic_conf));
  }
  return std::unique_ptr<Producer>(new Producer(handle, std::move(topics)));
}

Producer::Producer(rd_kafka_t* handle, std::vector<rd_kafka_topic_t*> topics)
    : handle_(handle), topics_(std::move(topics)) {
  poller_ = std::thread([this] {
    process::NameThisThread("sluice-produce");
    PollLoop();
  });
}

Producer::~Producer() {
  Flush(absl::Seconds(5)).IgnoreError();
  stop_ = true;
  poller_.join();
  // Whatever is left fails through its callback rather than vanishing.
  rd_kafka_purge(handle_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(handle_, 0);
  for (rd_kafka_topic_t* topic : topics_) rd_kafka_topic_destroy(topic);
  rd_kafka_destroy(handle_);
}

void Producer::PollLoop() {
  while (!stop_.load()) {
    rd_kafka_poll(handle_, 50);
    // Wakes a Flush waiting on the queue length.
    mu_.Lock();
    mu_.Unlock();
  }
}

void Producer::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message,
                          void*) {
  auto* callback = static_cast<DeliveryCallback*>(message->_private);
  if (callback == nullptr) return;
  if (*callback) (*callback)(ToStatus(message->err));
  delete callback;
}

rd_kafka_resp_err_t Producer::Enqueue(const std::string& topic,
                                      absl::string_view key,
                                      absl::string_view value,
                                      DeliveryCallback* callback) {
  return rd_kafka_producev(
      handle_, RD_KAFKA_V_TOPIC(topic.c_str()),
      RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(callback),
      RD_KAFKA_V_END);
}

void Producer::Produce(absl::string_view topic, absl::string_view key,
                       absl::string_view value, DeliveryCallback on_delivery) {
  auto* callback = new DeliveryCallback(std::move(on_delivery));
  std::string topic_name(topic);
  absl::Time give_up = absl::InfinitePast();
  while (true) {
    rd_kafka_resp_err_t err = Enqueue(topic_name, key, value, callback);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      // Back-pressure: wait for deliveries to drain the queue, for a while.
      absl::Time now = absl::Now();
      if (give_up == absl::InfinitePast()) give_up = now + kQueueFullPatience;
      if (now < give_up) {
        absl::SleepFor(absl::Milliseconds(5));
        continue;
      }
    }
    if (*callback) (*callback)(ToStatus(err));
    delete callback;
    return;
  }
}

absl::Status Producer::TryProduce(absl::string_view topic,
                                  absl::string_view key,
                                  absl::string_view value,
                                  DeliveryCallback on_delivery) {
  auto* callback = new DeliveryCallback(std::move(on_delivery));
  rd_kafka_resp_err_t err = Enqueue(std::string(topic), key, value, callback);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  delete callback;
  return ToStatus(err);
}

absl::Status Producer::Flush(absl::Duration timeout) {
  auto drained = [this] { return rd_kafka_outq_len(handle_) == 0; };
  bool ok = mu_.LockWhenWithDeadline(absl::Condition(&drained),
                                     absl::Now() + timeout);
  int left = rd_kafka_outq_len(handle_);
  mu_.Unlock();
  if (!ok) {
    return absl::DeadlineExceededError(
        absl::StrCat("kafka flush: ", left, " messages still queued"));
  }
  return absl::OkStatus();
}

}  // namespace sluice::kafka
