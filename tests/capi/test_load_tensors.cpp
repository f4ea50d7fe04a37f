// fw_save_tensors with integer and BOOL tensors, and fw_load_tensors reading any checkpoint back:
// headers and bytes checked against an independent parse (capi::parse_safetensors) and against
// values written by the test's own writer, for files, sharded folders and adapter folders; bad
// inputs fail with a status, never a crash.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "capi_fixture.h"
#include "test_support.h"

namespace {

struct SetPtr {
  fw_tensor_set *p = nullptr;
  ~SetPtr() { fw_tensor_set_free(p); }
};

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

template <typename T>
std::vector<uint8_t> bytes_of(const std::vector<T> &v) {
  std::vector<uint8_t> out(v.size() * sizeof(T));
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

TEST(LoadTensors, IntegerTensorsRoundTripAsTheyAre) {
  const std::string dir = fwtest::temp_dir("load_int");
  const std::vector<int64_t> labels = {0, 9, -3, int64_t{1} << 40};
  const std::vector<int32_t> ids = {7, -7, 65536};
  const std::vector<uint8_t> mask = {1, 0, 1, 1, 0};
  const std::vector<float> x = {0.5f, -1.25f};
  const int64_t s4[1] = {4}, s3[1] = {3}, s5[1] = {5}, s2[2] = {1, 2};
  const fw_tensor in[4] = {
      {"labels",
       FW_DTYPE_I64,
       1,
       s4,
       4,
       const_cast<int64_t *>(labels.data()),
       FW_DEVICE_TYPE_CPU,
       0,
       {}},
      {"ids", FW_DTYPE_I32, 1, s3, 3, const_cast<int32_t *>(ids.data()), FW_DEVICE_TYPE_CPU, 0, {}},
      {"mask",
       FW_DTYPE_BOOL,
       1,
       s5,
       5,
       const_cast<uint8_t *>(mask.data()),
       FW_DEVICE_TYPE_CPU,
       0,
       {}},
      {"x", FW_DTYPE_F32, 2, s2, 2, const_cast<float *>(x.data()), FW_DEVICE_TYPE_CPU, 0, {}}};
  const std::string path = dir + "/calib.safetensors";
  const char *meta[] = {"task", "digits"};
  // BF16 converts the floating tensor only; the integers keep their dtype.
  ASSERT_EQ(fw_save_tensors(path.c_str(), in, 4, FW_DTYPE_BF16, meta, 1), FW_OK) << fw_last_error();
  const capi::ParsedFile parsed = capi::parse_safetensors(path);
  EXPECT_EQ(parsed.header["labels"]["dtype"], "I64");
  EXPECT_EQ(parsed.header["ids"]["dtype"], "I32");
  EXPECT_EQ(parsed.header["mask"]["dtype"], "BOOL");
  EXPECT_EQ(parsed.header["x"]["dtype"], "BF16");
  EXPECT_EQ(parsed.tensor_bytes("labels"), bytes_of(labels));
  EXPECT_EQ(parsed.tensor_bytes("ids"), bytes_of(ids));
  EXPECT_EQ(parsed.tensor_bytes("mask"), mask);
  EXPECT_EQ(capi::decode(parsed.tensor_bytes("x"), "BF16"), x);

  SetPtr set;
  ASSERT_EQ(fw_load_tensors(path.c_str(), 0, &set.p), FW_OK) << fw_last_error();
  ASSERT_EQ(fw_tensor_set_count(set.p), 4u);
  std::map<std::string, fw_tensor> got;
  for (size_t i = 0; i < 4; ++i) {
    fw_tensor t;
    ASSERT_EQ(fw_tensor_set_get(set.p, i, &t), FW_OK);
    got[t.name] = t;
    EXPECT_EQ(fw_tensor_set_nbytes(set.p, i), parsed.tensor_bytes(t.name).size());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % 64, 0u) << t.name;
  }
  EXPECT_EQ(got["labels"].dtype, FW_DTYPE_I64);
  EXPECT_EQ(got["mask"].dtype, FW_DTYPE_BOOL);
  EXPECT_EQ(got["x"].dtype, FW_DTYPE_BF16);
  EXPECT_EQ(got["x"].ndim, 2);
  EXPECT_EQ(got["x"].shape[1], 2);
  EXPECT_EQ(std::memcmp(got["labels"].data, labels.data(), 32), 0);
  EXPECT_EQ(std::memcmp(got["ids"].data, ids.data(), 12), 0);
  ASSERT_EQ(fw_tensor_set_metadata_count(set.p), 1u);
  const char *k = nullptr, *v = nullptr;
  ASSERT_EQ(fw_tensor_set_metadata(set.p, 0, &k, &v), FW_OK);
  EXPECT_STREQ(k, "task");
  EXPECT_STREQ(v, "digits");
  EXPECT_EQ(fw_tensor_set_metadata(set.p, 1, &k, &v), FW_ERR_INVALID_ARGUMENT);

  // What was loaded saves back to the same bytes.
  std::vector<fw_tensor> back;
  for (size_t i = 0; i < 4; ++i) {
    fw_tensor t;
    fw_tensor_set_get(set.p, i, &t);
    back.push_back(t);
  }
  const std::string again = dir + "/again.safetensors";
  ASSERT_EQ(fw_save_tensors(again.c_str(), back.data(), back.size(), FW_DTYPE_DEFAULT, meta, 1),
            FW_OK);
  EXPECT_EQ(fwtest::read_bytes(again), fwtest::read_bytes(path));
}

TEST(LoadTensors, SaveRejectsBadDtypesAndBoolBytes) {
  const std::string dir = fwtest::temp_dir("load_bad_save");
  const std::vector<uint8_t> two = {0, 2};
  const int64_t s2[1] = {2};
  fw_tensor t = {
      "m", FW_DTYPE_BOOL, 1, s2, 2, const_cast<uint8_t *>(two.data()), FW_DEVICE_TYPE_CPU, 0, {}};
  const std::string out = dir + "/m.safetensors";
  EXPECT_EQ(fw_save_tensors(out.c_str(), &t, 1, FW_DTYPE_DEFAULT, nullptr, 0),
            FW_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(fw_last_error(), "BOOL byte 2")) << fw_last_error();
  t.dtype = FW_DTYPE_U8;
  EXPECT_EQ(fw_save_tensors(out.c_str(), &t, 1, FW_DTYPE_I64, nullptr, 0),
            FW_ERR_INVALID_ARGUMENT);  // conversion targets are floating types only
  t.dtype = FW_DTYPE_DEFAULT;
  EXPECT_EQ(fw_save_tensors(out.c_str(), &t, 1, FW_DTYPE_DEFAULT, nullptr, 0),
            FW_ERR_INVALID_ARGUMENT);
  t.dtype = static_cast<fw_dtype>(13);
  EXPECT_EQ(fw_save_tensors(out.c_str(), &t, 1, FW_DTYPE_DEFAULT, nullptr, 0),
            FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(capi::list_dir(dir), std::vector<std::string>{});
  t.dtype = FW_DTYPE_U8;
  ASSERT_EQ(fw_save_tensors(out.c_str(), &t, 1, FW_DTYPE_F16, nullptr, 0), FW_OK);
  EXPECT_EQ(capi::parse_safetensors(out).header["m"]["dtype"], "U8");
}

TEST(LoadTensors, ShardedFolderHeaderOnlyAndAdapters) {
  const std::string dir = fwtest::temp_dir("load_folders");
  // A sharded export, read back in index order.
  fwtest::write_safetensors(dir + "/base.safetensors",
                            {{"a", {2, 3}, {1, 2, 3, 4, 5, 6}}, {"b", {4}, {7, 8, 9, 10}, "BF16"}});
  capi::SolverPtr s = capi::new_solver();
  ASSERT_EQ(fw_solver_set_base(s.get(), (dir + "/base.safetensors").c_str()), FW_OK);
  int32_t index;
  ASSERT_EQ(fw_solver_pool_add(s.get(), (dir + "/base.safetensors").c_str(), &index), FW_OK);
  fw_export_options o = fw_default_export_options();
  o.max_shard_bytes = 16;
  ASSERT_EQ(fw_solver_export(s.get(), (dir + "/sharded").c_str(), &o), FW_OK) << fw_last_error();
  SetPtr set;
  ASSERT_EQ(fw_load_tensors((dir + "/sharded").c_str(), 0, &set.p), FW_OK) << fw_last_error();
  ASSERT_EQ(fw_tensor_set_count(set.p), 2u);
  fw_tensor a, b;
  ASSERT_EQ(fw_tensor_set_get(set.p, 0, &a), FW_OK);
  ASSERT_EQ(fw_tensor_set_get(set.p, 1, &b), FW_OK);
  EXPECT_STREQ(a.name, "a");
  EXPECT_STREQ(b.name, "b");
  EXPECT_EQ(std::vector<float>(static_cast<float *>(a.data), static_cast<float *>(a.data) + 6),
            (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_STREQ(fw_tensor_set_dtype_name(set.p, 1), "BF16");
  EXPECT_EQ(fw_tensor_set_get(set.p, 2, &a), FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(fw_tensor_set_dtype_name(set.p, 2), nullptr);
  EXPECT_EQ(fw_tensor_set_nbytes(nullptr, 0), 0u);

  // Header only: any dtype, no data. An F8 tensor cannot be loaded whole.
  const std::string f8 = dir + "/f8.safetensors";
  {
    const std::string header = R"({"q":{"dtype":"F8_E4M3","shape":[3],"data_offsets":[0,3]}})";
    std::string padded = header + std::string((8 - header.size() % 8) % 8, ' ');
    std::string file(8, '\0');
    uint64_t n = padded.size();
    for (int i = 0; i < 8; ++i, n >>= 8) file[static_cast<size_t>(i)] = static_cast<char>(n & 0xFF);
    file += padded + "\x38\x40\xC0";
    const std::vector<uint8_t> bytes(file.begin(), file.end());
    fwtest::write_bytes(f8, bytes);
  }
  SetPtr header;
  ASSERT_EQ(fw_load_tensors(f8.c_str(), FW_LOAD_FLAG_HEADER_ONLY, &header.p), FW_OK)
      << fw_last_error();
  fw_tensor q;
  ASSERT_EQ(fw_tensor_set_get(header.p, 0, &q), FW_OK);
  EXPECT_EQ(q.dtype, FW_DTYPE_DEFAULT);
  EXPECT_EQ(q.data, nullptr);
  EXPECT_STREQ(fw_tensor_set_dtype_name(header.p, 0), "F8_E4M3");
  EXPECT_EQ(fw_tensor_set_nbytes(header.p, 0), 3u);
  fw_tensor_set *none = reinterpret_cast<fw_tensor_set *>(1);
  EXPECT_EQ(fw_load_tensors(f8.c_str(), 0, &none), FW_ERR_UNSUPPORTED);
  EXPECT_EQ(none, nullptr);
  EXPECT_TRUE(contains(fw_last_error(), "F8_E4M3")) << fw_last_error();

  // An adapter folder: its stored tensors.
  const std::string adapter = dir + "/adapter";
  ASSERT_EQ(::mkdir(adapter.c_str(), 0755), 0);
  std::ofstream(adapter + "/adapter_config.json") << R"({"peft_type":"LORA","r":1,"lora_alpha":1})";
  fwtest::write_safetensors(adapter + "/adapter_model.safetensors",
                            {{"base_model.model.a.lora_A.weight", {1, 3}, {1, 0, 0}},
                             {"base_model.model.a.lora_B.weight", {2, 1}, {1, 1}}});
  SetPtr lora;
  ASSERT_EQ(fw_load_tensors(adapter.c_str(), 0, &lora.p), FW_OK) << fw_last_error();
  EXPECT_EQ(fw_tensor_set_count(lora.p), 2u);

  // Errors: bad flags, missing paths, a truncated file, a folder without a checkpoint.
  EXPECT_EQ(fw_load_tensors(f8.c_str(), 4, &none), FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(fw_load_tensors(nullptr, 0, &none), FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(fw_load_tensors(f8.c_str(), 0, nullptr), FW_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(fw_load_tensors((dir + "/missing").c_str(), 0, &none), FW_ERR_IO);
  std::vector<uint8_t> cut = fwtest::read_bytes(dir + "/base.safetensors");
  cut.resize(cut.size() - 4);
  fwtest::write_bytes(dir + "/cut.safetensors", cut);
  EXPECT_EQ(fw_load_tensors((dir + "/cut.safetensors").c_str(), 0, &none), FW_ERR_FORMAT);
  ASSERT_EQ(::mkdir((dir + "/empty").c_str(), 0755), 0);
  EXPECT_EQ(fw_load_tensors((dir + "/empty").c_str(), 0, &none), FW_ERR_FORMAT);
  EXPECT_TRUE(contains(fw_last_error(), "folder_no_checkpoint")) << fw_last_error();
  fw_tensor_set_free(nullptr);
}

}  // namespace
