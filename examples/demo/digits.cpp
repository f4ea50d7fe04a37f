#include "digits.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include "data_error.h"
#include "idx.h"

namespace demo {
namespace {

// Parses one comma-separated row of non-negative integers; false on anything else.
bool parse_row(const char *begin, const char *end, std::vector<int> *values) {
  values->clear();
  const char *p = begin;
  while (p < end) {
    if (*p < '0' || *p > '9') return false;
    int v = 0;
    while (p < end && *p >= '0' && *p <= '9') {
      v = v * 10 + (*p - '0');
      if (v > 1000000) return false;
      ++p;
    }
    values->push_back(v);
    if (p < end) {
      if (*p != ',') return false;
      ++p;
      if (p == end) return false;  // trailing comma
    }
  }
  return true;
}

}  // namespace

DigitsRaw read_digits_csv(const std::string &path) {
  const std::vector<uint8_t> bytes = read_gzip_file(path);
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
  std::vector<int> values;
  const char *text = reinterpret_cast<const char *>(bytes.data());
  const char *end = text + bytes.size();
  size_t line = 0;
  for (const char *p = text; p < end;) {
    const char *eol = static_cast<const char *>(std::memchr(p, '\n', size_t(end - p)));
    if (!eol) eol = end;
    const char *row_end = (eol > p && eol[-1] == '\r') ? eol - 1 : eol;
    ++line;
    if (row_end > p) {  // blank lines are skipped
      if (!parse_row(p, row_end, &values) || values.size() != 65)
        throw DataError("bad_row", path + ": line " + std::to_string(line) +
                                       " is not 65 comma-separated integers");
      for (int i = 0; i < 64; ++i) {
        if (values[i] > 16)
          throw DataError("value_range", path + ": line " + std::to_string(line) + " pixel " +
                                             std::to_string(i) + " is " +
                                             std::to_string(values[i]) + " (max 16)");
        pixels.push_back(uint8_t(values[i]));
      }
      if (values[64] > 9)
        throw DataError("value_range", path + ": line " + std::to_string(line) + " label is " +
                                           std::to_string(values[64]));
      labels.push_back(values[64]);
    }
    p = eol + 1;
  }
  if (labels.empty()) throw DataError("empty", path + ": no rows");
  const int64_t n = int64_t(labels.size());
  DigitsRaw out;
  out.pixels = at::empty({n, 8, 8}, at::kByte);
  std::memcpy(out.pixels.data_ptr<uint8_t>(), pixels.data(), pixels.size());
  out.labels = at::empty({n}, at::kLong);
  std::memcpy(out.labels.data_ptr<int64_t>(), labels.data(), labels.size() * sizeof(int64_t));
  return out;
}

at::Tensor upsample_digits(const at::Tensor &pixels) {
  const at::Tensor x = pixels.to(at::kFloat).div(16.0).unsqueeze(1);
  return at::upsample_bilinear2d(x, {28, 28}, /*align_corners=*/false);
}

}  // namespace demo
