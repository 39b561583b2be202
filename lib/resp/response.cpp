#include <streamq/resp/response.hpp>

namespace streamq::resp {

void generic_response::on_start() {
  values_.clear();
  builder_.reset();
}

void generic_response::on_node(std::size_t /*reply*/, const node& n) {
  if (builder_.on_node(n)) values_.push_back(std::move(builder_.result()));
}

void ignore_response::on_start() {
  error_.clear();
  diagnostic_.clear();
}

void ignore_response::on_node(std::size_t /*reply*/, const node& n) {
  if (n.depth == 0 && is_error(n.data_type) && !error_) {
    error_ = classify_server_error(n.value);
    diagnostic_.assign(n.value);
  }
}

}  // namespace streamq::resp
