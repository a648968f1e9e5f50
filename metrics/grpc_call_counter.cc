#include "metrics/grpc_call_counter.h"

namespace herd {
namespace {

class CountingInterceptor : public grpc::experimental::Interceptor {
 public:
  CountingInterceptor(GrpcCallCounter* counter, const char* method)
      : counter_(counter), method_(method == nullptr ? "" : method) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      counter_->Count(method_, methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  GrpcCallCounter* const counter_;
  const std::string method_;
};

class CountingFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CountingFactory(GrpcCallCounter* counter) : counter_(counter) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new CountingInterceptor(counter_, info->method());
  }

 private:
  GrpcCallCounter* const counter_;
};

}  // namespace

void GrpcCallCounter::Count(const std::string& method, int code) {
  absl::MutexLock lock(&mu_);
  ++calls_[{method, code}];
}

std::vector<GrpcCallCounter::Entry> GrpcCallCounter::Snapshot() const {
  std::vector<Entry> entries;
  absl::MutexLock lock(&mu_);
  for (const auto& [key, calls] : calls_) entries.push_back({key.first, key.second, calls});
  return entries;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> GrpcCallCounter::Factory() {
  return std::make_unique<CountingFactory>(this);
}

}  // namespace herd
