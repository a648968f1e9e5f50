// libFuzzer target for the edge's parser and formatters: any bytes as a line
// must parse to a command or an error, never crash or trip a sanitizer.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "edge/protocol.h"
#include "store/record.h"
#include "store/store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static herd::Store* store = new herd::Store(1);
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<herd::Command> command = herd::ParseCommand(line);
  if (!command.ok()) {
    (void)herd::FormatInvalid(line);
    return 0;
  }
  if (const auto* iamat = std::get_if<herd::IamatCommand>(&*command)) {
    double latitude = 0, longitude = 0;
    if (!herd::ParseLocation(iamat->location, &latitude, &longitude)) __builtin_trap();
    if (latitude < -90 || latitude > 90 || longitude < -180 || longitude > 180) {
      __builtin_trap();
    }
    herd::Record record{std::string(iamat->client_id), "Riley",
                        herd::FormatSkew(1621464828'223371889, iamat->client_time),
                        std::string(iamat->location), std::string(iamat->client_time)};
    store->Apply(record);
    if (herd::CompareClientTime(record.client_time, record.client_time) != 0) {
      __builtin_trap();
    }
    (void)herd::FormatWhatsat(record.AtLine(), line);
  } else if (const auto* whatsat = std::get_if<herd::WhatsatCommand>(&*command)) {
    if (!(whatsat->radius_km > 0 && whatsat->radius_km <= 50)) __builtin_trap();
    if (whatsat->bound < 1 || whatsat->bound > 20) __builtin_trap();
    (void)store->Get(whatsat->client_id);
  }
  return 0;
}
