#ifndef HERD_TESTS_INTEGRATION_GRPCURL_CLIENT_H_
#define HERD_TESTS_INTEGRATION_GRPCURL_CLIENT_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace herd::testing {

// What grpcurl does: fetch descriptors through server reflection, build
// messages from JSON with them, call the method as raw bytes. So a test
// shows that the README's grpcurl examples work with nothing but reflection.
//
// Not thread-safe: one test thread.
class ReflectionClient {
 public:
  explicit ReflectionClient(std::shared_ptr<grpc::Channel> channel);

  // Loads the file that defines service `symbol`, and its imports.
  ::testing::AssertionResult Load(const std::string& symbol);

  const google::protobuf::DescriptorPool& pool() const { return pool_; }

  // Calls "package.Service/Method" with a request given as JSON; returns up
  // to `max_responses` responses as JSON (a stream is then cancelled).
  grpc::Status Call(const std::string& method_name, const std::string& json,
                    std::vector<std::string>* responses, int max_responses = 1,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  void Build(const std::string& name,
             const std::map<std::string, google::protobuf::FileDescriptorProto>& files);

  std::shared_ptr<grpc::Channel> channel_;
  grpc::GenericStub generic_;
  google::protobuf::DescriptorPool pool_;
  google::protobuf::DynamicMessageFactory factory_{&pool_};
};

// One grpcurl example of the README.
struct GrpcurlExample {
  std::string line;
  std::string json;    // the -d argument, "{}" if none
  std::string method;  // "herd.v1.Locations/Get"
};

// The README's examples of `service` ("herd.v1.Locations") against Riley's
// port in the default herd, in order. A grpcurl line naming the service in
// another form is a test failure (the example would go unchecked).
std::vector<GrpcurlExample> ReadmeExamples(const std::string& readme_path,
                                           const std::string& service);

}  // namespace herd::testing

#endif  // HERD_TESTS_INTEGRATION_GRPCURL_CLIENT_H_
