#include "libs/kafka/producer.h"

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace sluice::kafka {

absl::StatusOr<std::unique_ptr<Producer>> Producer::Create(
    const ProducerOptions& options) {
  KafkaSettings settings = {{"bootstrap.servers", options.brokers},
                            {"client.id", options.client_id},
                            {"enable.idempotence", "true"},
                            {"acks", "all"},
                            {"linger.ms", "5"}};
  settings.insert(settings.end(), options.extra.begin(), options.extra.end());
  absl::StatusOr<rd_kafka_conf_t*> conf = MakeConfig(settings);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_dr_msg_cb(*conf, &Producer::OnDelivery);
  char error[512];
  rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_PRODUCER, *conf, error, sizeof(error));
  if (handle == nullptr) {
    rd_kafka_conf_destroy(*conf);
    return absl::InvalidArgumentError(absl::StrCat("kafka producer: ", error));
  }
  return std::unique_ptr<Producer>(new Producer(handle));
}

Producer::Producer(rd_kafka_t* handle) : handle_(handle) {
  poller_ = std::thread([this] {
    while (!stop_.load()) rd_kafka_poll(handle_, 100);
  });
}

Producer::~Producer() {
  Flush(absl::Seconds(5)).IgnoreError();
  stop_ = true;
  poller_.join();
  rd_kafka_destroy(handle_);
}

void Producer::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message,
                          void*) {
  auto* callback = static_cast<DeliveryCallback*>(message->_private);
  if (callback == nullptr) return;
  if (*callback) {
    (*callback)(message->err == RD_KAFKA_RESP_ERR_NO_ERROR
                    ? absl::OkStatus()
                    : absl::UnavailableError(rd_kafka_err2str(message->err)));
  }
  delete callback;
}

void Producer::Produce(absl::string_view topic, absl::string_view key,
                       absl::string_view value, DeliveryCallback on_delivery) {
  auto* callback = new DeliveryCallback(std::move(on_delivery));
  std::string topic_name(topic);
  while (true) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        handle_, RD_KAFKA_V_TOPIC(topic_name.c_str()),
        RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(callback),
        RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      // Back-pressure: let deliveries drain, never drop.
      rd_kafka_poll(handle_, 10);
      continue;
    }
    if (*callback) (*callback)(absl::UnavailableError(rd_kafka_err2str(err)));
    delete callback;
    return;
  }
}

absl::Status Producer::Flush(absl::Duration timeout) {
  rd_kafka_resp_err_t err = rd_kafka_flush(
      handle_, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::DeadlineExceededError(
        absl::StrCat("kafka flush: ", rd_kafka_err2str(err)));
  }
  return absl::OkStatus();
}

}  // namespace sluice::kafka
