// The writer: byte-exact round trips, the reference package's header bytes, argument checks, and
// atomicity (a failed write leaves no file and never damages the old one).
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cstring>
#include <set>

#include "capi/status_map.h"
#include "io/safetensors_reader.h"
#include "io/safetensors_writer.h"
#include "io_test_util.h"
#include "test_support.h"

namespace {

using fw::DType;
using fw::OutTensor;

using fwtest::list_dir;

std::vector<uint8_t> pattern_bytes(size_t n, uint32_t seed) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 1664525u + 1013904223u;  // LCG: arbitrary but reproducible bytes
    out[i] = static_cast<uint8_t>(seed >> 24);
  }
  return out;
}

std::string header_of(const std::vector<uint8_t> &file) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | file[i];
  return std::string(file.begin() + 8, file.begin() + 8 + static_cast<long>(n));
}

// A fixed set of tensors with distinct bytes (storage must outlive the OutTensors).
struct Fixture {
  std::vector<std::vector<uint8_t>> storage;
  std::vector<OutTensor> tensors;
  void add(const std::string &name, DType dtype, std::vector<int64_t> shape, size_t nbytes) {
    storage.push_back(pattern_bytes(nbytes, static_cast<uint32_t>(storage.size() + 1)));
    tensors.push_back({name, dtype, std::move(shape), nullptr, nbytes});
  }
  std::vector<OutTensor> get() {
    for (size_t i = 0; i < tensors.size(); ++i) tensors[i].data = storage[i].data();
    return tensors;
  }
};

Fixture mixed_fixture() {
  Fixture f;
  f.add("b", DType::F32, {2, 3}, 24);
  f.add("a", DType::F16, {3}, 6);
  f.add("c", DType::BF16, {2}, 4);
  f.add("s", DType::F32, {}, 4);
  f.add("e", DType::F32, {0, 3}, 0);
  f.add("i", DType::I64, {1}, 8);
  f.add("u", DType::U8, {3}, 3);
  return f;
}

TEST(Writer, HeaderBytesEqualTheReferencePackage) {
  // Literal produced by safetensors 0.8.0 (Python, `safetensors.serialize`) for the same tensors
  // and metadata {"format": "pt"}: dtype rank descending (I64 > F32 > BF16 > F16 > U8), then name,
  // padded with spaces to 424 = 53 * 8 bytes.
  const std::string expected =
      "{\"__metadata__\":{\"format\":\"pt\"},"
      "\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]},"
      "\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[32,32]},"
      "\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[32,36]},"
      "\"c\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[36,40]},"
      "\"a\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[40,46]},"
      "\"u\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[46,49]}}       ";
  ASSERT_EQ(expected.size(), 424u);
  const std::string dir = fwtest::temp_dir("writer");
  Fixture f = mixed_fixture();
  fw::write_safetensors(dir + "/ref.safetensors", f.get(), {{"format", "pt"}});
  const std::vector<uint8_t> file = fwtest::read_bytes(dir + "/ref.safetensors");
  EXPECT_EQ(header_of(file), expected);
  EXPECT_EQ(file.size(), 8u + 424u + 49u);

  // Without metadata the reference omits __metadata__ (392 bytes, 6 spaces of padding).
  fw::write_safetensors(dir + "/nometa.safetensors", f.get(), {});
  const std::string bare = header_of(fwtest::read_bytes(dir + "/nometa.safetensors"));
  EXPECT_EQ(bare.size(), 392u);
  EXPECT_EQ(bare.substr(0, 6), "{\"i\":{");
  EXPECT_EQ(bare.substr(386), "      ");

  // No tensors at all: "{}" and six spaces, as the reference writes.
  fw::write_safetensors(dir + "/none.safetensors", {}, {});
  EXPECT_EQ(header_of(fwtest::read_bytes(dir + "/none.safetensors")), "{}      ");
}

TEST(Writer, RoundTripIsByteExact) {
  const std::string dir = fwtest::temp_dir("writer");
  Fixture f = mixed_fixture();
  f.add("big.weight", DType::F32, {64, 33}, 64 * 33 * 4);
  const std::map<std::string, std::string> meta = {{"format", "pt"}, {"k\"ey", "v\\al\nue"}};
  const std::vector<OutTensor> tensors = f.get();
  fw::write_safetensors(dir + "/one.safetensors", tensors, meta);

  auto file = fw::SafetensorsFile::open(dir + "/one.safetensors");
  EXPECT_EQ(file->metadata(), meta);
  ASSERT_EQ(file->tensors().size(), tensors.size());
  for (const OutTensor &t : tensors) {
    SCOPED_TRACE(t.name);
    const fw::TensorEntry *e = file->find(t.name);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->dtype, t.dtype);
    EXPECT_EQ(e->shape, t.shape);
    ASSERT_EQ(e->nbytes, t.nbytes);
    std::vector<uint8_t> bytes(t.nbytes);
    file->read_bytes(*e, 0, t.nbytes, bytes.data());
    // memcmp's pointers must not be null even for 0 bytes (an empty tensor has no data)
    if (t.nbytes > 0) {
      EXPECT_EQ(std::memcmp(bytes.data(), t.data, t.nbytes), 0);
    }
  }

  // write -> read -> write gives the same file, whatever order the tensors are handed in.
  std::vector<OutTensor> again;
  std::vector<std::vector<uint8_t>> held;  // the bytes `again` points into
  held.reserve(file->tensors().size());
  for (auto it = file->tensors().rbegin(); it != file->tensors().rend(); ++it) {
    held.emplace_back(it->nbytes);
    file->read_bytes(*it, 0, it->nbytes, held.back().data());
    again.push_back({it->name, it->dtype, it->shape, held.back().data(), it->nbytes});
  }
  fw::write_safetensors(dir + "/two.safetensors", again, file->metadata());
  EXPECT_EQ(fwtest::read_bytes(dir + "/one.safetensors"),
            fwtest::read_bytes(dir + "/two.safetensors"));

  struct stat st;
  ASSERT_EQ(::stat((dir + "/one.safetensors").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_EQ(list_dir(dir), (std::set<std::string>{"one.safetensors", "two.safetensors"}));
}

TEST(Writer, OverwritesAnExistingFile) {
  const std::string path = fwtest::temp_dir("writer") + "/m.safetensors";
  fwtest::write_bytes(path, {1, 2, 3});
  Fixture f = mixed_fixture();
  fw::write_safetensors(path, f.get(), {});
  EXPECT_EQ(fw::SafetensorsFile::open(path)->tensors().size(), 7u);
}

TEST(Writer, BadArgumentsWriteNothing) {
  const std::string dir = fwtest::temp_dir("writer");
  const std::string path = dir + "/bad.safetensors";
  const float v[2] = {1, 2};
  const std::vector<std::pair<std::vector<OutTensor>, std::string>> bad = {
      {{{"a", DType::F32, {2}, v, 8}, {"a", DType::F32, {2}, v, 8}}, "appears twice"},
      {{{"a", DType::F32, {3}, v, 8}}, "do not hold F32 [3]"},
      {{{"a", DType::F32, {-2}, v, 8}}, "negative dimension"},
      {{{"__metadata__", DType::F32, {2}, v, 8}}, "__metadata__"},
      {{{"a", DType::F32, {2}, nullptr, 8}}, "has no data"},
      {{{"bad\xff", DType::F32, {2}, v, 8}}, "not valid UTF-8"},
  };
  for (const auto &b : bad) {
    iotest::expect_error([&] { fw::write_safetensors(path, b.first, {}); }, FW_ERR_INVALID_ARGUMENT,
                         b.second);
  }
  iotest::expect_error(
      [&] {
        fw::write_safetensors(path, {{"a", DType::F32, {2}, v, 8}}, {{"k", "\xc3"}});
      },
      FW_ERR_INVALID_ARGUMENT, "not valid UTF-8");
  EXPECT_TRUE(list_dir(dir).empty());
}

TEST(WriterAtomicity, MissingDirectory) {
  const std::string dir = fwtest::temp_dir("atomic");
  const float v[1] = {1};
  iotest::expect_error(
      [&] {
        fw::write_safetensors(dir + "/no/such/m.safetensors", {{"a", DType::F32, {1}, v, 4}}, {});
      },
      FW_ERR_IO, "No such file or directory");
  EXPECT_TRUE(list_dir(dir).empty());
}

TEST(WriterAtomicity, ParentIsARegularFile) {
  const std::string dir = fwtest::temp_dir("atomic");
  fwtest::write_bytes(dir + "/file", {42});
  const float v[1] = {1};
  iotest::expect_error(
      [&] {
        fw::write_safetensors(dir + "/file/m.safetensors", {{"a", DType::F32, {1}, v, 4}}, {});
      },
      FW_ERR_IO, "Not a directory");
  EXPECT_EQ(list_dir(dir), std::set<std::string>{"file"});
  EXPECT_EQ(fwtest::read_bytes(dir + "/file"), std::vector<uint8_t>{42});
}

TEST(WriterAtomicity, NameTooLong) {
  const std::string dir = fwtest::temp_dir("atomic");
  const float v[1] = {1};
  const std::string path = dir + "/" + std::string(300, 'n') + ".safetensors";
  iotest::expect_error(
      [&] {
        fw::write_safetensors(path, {{"a", DType::F32, {1}, v, 4}}, {});
      },
      FW_ERR_IO, "File name too long");
  EXPECT_TRUE(list_dir(dir).empty());
}

TEST(WriterAtomicity, FailedRenameKeepsTheTarget) {
  // The target is a non-empty directory: everything succeeds up to rename(), which fails.
  const std::string dir = fwtest::temp_dir("atomic");
  ASSERT_EQ(::mkdir((dir + "/m.safetensors").c_str(), 0755), 0);
  fwtest::write_bytes(dir + "/m.safetensors/keep", {7});
  const float v[1] = {1};
  iotest::expect_error(
      [&] {
        fw::write_safetensors(dir + "/m.safetensors", {{"a", DType::F32, {1}, v, 4}}, {});
      },
      FW_ERR_IO, "cannot rename");
  EXPECT_EQ(list_dir(dir), std::set<std::string>{"m.safetensors"});
  EXPECT_EQ(fwtest::read_bytes(dir + "/m.safetensors/keep"), std::vector<uint8_t>{7});
}

TEST(WriterAtomicity, FailedWriteLeavesTheOldFileIntact) {
  // RLIMIT_FSIZE makes write() fail with EFBIG part-way (it applies to root too).
  const std::string dir = fwtest::temp_dir("atomic");
  const std::string path = dir + "/m.safetensors";
  const std::vector<uint8_t> old = {'o', 'l', 'd'};
  fwtest::write_bytes(path, old);
  const std::vector<uint8_t> big(1 << 20, 0x5A);

  bool threw = false;
  {
    const iotest::FileSizeLimit limit(64 * 1024);
    try {
      fw::write_safetensors(path, {{"big", DType::U8, {1 << 20}, big.data(), big.size()}}, {});
    } catch (const fw::Error &e) {
      threw = true;
      EXPECT_EQ(fw::capi::to_public(e.code()), FW_ERR_IO);
      EXPECT_NE(std::string(e.what()).find("File too large"), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(threw);
  EXPECT_EQ(fwtest::read_bytes(path), old);
  EXPECT_EQ(list_dir(dir), std::set<std::string>{"m.safetensors"});
}

TEST(WriterAtomicity, DiskFullOnSmallTmpfs) {
  const std::string dir = fwtest::temp_dir("atomic");
  if (::mount("fwmerge-test", dir.c_str(), "tmpfs", 0, "size=64k") != 0) {
    GTEST_SKIP() << "cannot mount a small tmpfs here (" << std::strerror(errno)
                 << "); ENOSPC is not reproducible without one";
  }
  struct Unmount {
    std::string dir;
    ~Unmount() { ::umount(dir.c_str()); }
  } unmount{dir};
  const std::string path = dir + "/m.safetensors";
  const std::vector<uint8_t> old = {'o', 'l', 'd'};
  fwtest::write_bytes(path, old);
  const std::vector<uint8_t> big(1 << 20, 0x5A);
  iotest::expect_error(
      [&] {
        fw::write_safetensors(path, {{"big", DType::U8, {1 << 20}, big.data(), big.size()}}, {});
      },
      FW_ERR_IO, "disk full");
  EXPECT_EQ(fwtest::read_bytes(path), old);
  EXPECT_EQ(list_dir(dir), std::set<std::string>{"m.safetensors"});
}

}  // namespace
