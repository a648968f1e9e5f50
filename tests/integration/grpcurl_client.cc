#include "tests/integration/grpcurl_client.h"

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace herd::testing {
namespace {

std::unique_ptr<grpc::ClientContext> Context(std::chrono::milliseconds timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  context->set_wait_for_ready(true);  // the server may still be starting
  return context;
}

}  // namespace

ReflectionClient::ReflectionClient(std::shared_ptr<grpc::Channel> channel)
    : channel_(std::move(channel)), generic_(channel_) {}

::testing::AssertionResult ReflectionClient::Load(const std::string& symbol) {
  using grpc::reflection::v1alpha::ServerReflection;
  using grpc::reflection::v1alpha::ServerReflectionRequest;
  using grpc::reflection::v1alpha::ServerReflectionResponse;
  auto stub = ServerReflection::NewStub(channel_);
  auto context = Context(std::chrono::seconds(10));
  auto stream = stub->ServerReflectionInfo(context.get());
  std::map<std::string, google::protobuf::FileDescriptorProto> files;
  std::vector<std::string> wanted;
  ServerReflectionRequest request;
  request.set_file_containing_symbol(symbol);
  for (;;) {
    if (!stream->Write(request)) return ::testing::AssertionFailure() << "write";
    ServerReflectionResponse response;
    if (!stream->Read(&response)) return ::testing::AssertionFailure() << "read";
    if (!response.has_file_descriptor_response()) {
      return ::testing::AssertionFailure() << "no descriptor for " << request.ShortDebugString();
    }
    for (const std::string& bytes : response.file_descriptor_response().file_descriptor_proto()) {
      google::protobuf::FileDescriptorProto file;
      file.ParseFromString(bytes);
      for (const std::string& dependency : file.dependency()) wanted.push_back(dependency);
      files[file.name()] = std::move(file);
    }
    while (!wanted.empty() && files.count(wanted.back())) wanted.pop_back();
    if (wanted.empty()) break;
    request.set_file_by_filename(wanted.back());
  }
  stream->WritesDone();
  for (const auto& [name, file] : files) Build(name, files);
  if (pool_.FindServiceByName(symbol) == nullptr) {
    return ::testing::AssertionFailure() << symbol << " not in the files reflection gave";
  }
  return ::testing::AssertionSuccess();
}

grpc::Status ReflectionClient::Call(const std::string& method_name, const std::string& json,
                                    std::vector<std::string>* responses, int max_responses,
                                    std::chrono::milliseconds timeout) {
  const size_t slash = method_name.find('/');
  const google::protobuf::MethodDescriptor* method =
      pool_.FindMethodByName(method_name.substr(0, slash) + "." + method_name.substr(slash + 1));
  if (method == nullptr) return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no method");
  std::unique_ptr<google::protobuf::Message> request(
      factory_.GetPrototype(method->input_type())->New());
  if (!google::protobuf::util::JsonStringToMessage(json, request.get()).ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad JSON: " + json);
  }
  grpc::CompletionQueue cq;
  auto context = Context(timeout);
  auto call = generic_.PrepareCall(context.get(), "/" + method_name, &cq);
  const auto step = [&cq] {
    void* tag;
    bool ok = false;
    return cq.Next(&tag, &ok) && ok;
  };
  call->StartCall(nullptr);
  step();
  grpc::Slice slice(request->SerializeAsString());
  grpc::ByteBuffer buffer(&slice, 1);
  call->Write(buffer, nullptr);
  step();
  call->WritesDone(nullptr);
  step();
  for (int i = 0; i < max_responses; ++i) {
    grpc::ByteBuffer received;
    call->Read(&received, nullptr);
    if (!step()) break;
    std::vector<grpc::Slice> slices;
    received.Dump(&slices);
    std::string bytes;
    for (const grpc::Slice& s : slices)
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    std::unique_ptr<google::protobuf::Message> response(
        factory_.GetPrototype(method->output_type())->New());
    response->ParseFromString(bytes);
    std::string out;
    google::protobuf::util::MessageToJsonString(*response, &out);
    responses->push_back(out);
    if (i + 1 == max_responses && method->server_streaming()) context->TryCancel();
  }
  grpc::Status status;
  call->Finish(&status, nullptr);
  step();
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

void ReflectionClient::Build(
    const std::string& name,
    const std::map<std::string, google::protobuf::FileDescriptorProto>& files) {
  if (pool_.FindFileByName(name) != nullptr) return;
  const google::protobuf::FileDescriptorProto& file = files.at(name);
  for (const std::string& dependency : file.dependency()) Build(dependency, files);
  pool_.BuildFile(file);
}

std::vector<GrpcurlExample> ReadmeExamples(const std::string& readme_path,
                                           const std::string& service) {
  std::ifstream readme(readme_path);
  std::stringstream text;
  text << readme.rdbuf();
  std::string escaped;
  for (char c : service) {
    if (c == '.') escaped += '\\';
    escaped += c;
  }
  const std::regex example(
      R"(^\s*grpcurl -plaintext (?:-max-time \S+ )?(?:-d '([^']*)' )?127\.0\.0\.1:12100 ()" +
      escaped + R"(/\w+)\s*$)");
  std::vector<GrpcurlExample> examples;
  std::string line;
  while (std::getline(text, line)) {
    std::smatch match;
    if (line.find(service + "/") == std::string::npos) continue;
    if (std::regex_match(line, match, example)) {
      examples.push_back({line, match[1].matched ? match[1].str() : "{}", match[2].str()});
    } else if (line.find("grpcurl") != std::string::npos) {
      ADD_FAILURE() << "README example the test cannot read: " << line;
    }
  }
  return examples;
}

}  // namespace herd::testing
