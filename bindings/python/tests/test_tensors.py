"""fwmerge.save_tensors, checked with the reference `safetensors` package."""

from __future__ import annotations

import numpy as np
import pytest
import safetensors
import safetensors.numpy

import fwmerge


def test_round_trip_is_byte_exact(tmp_path):
    tensors = {
        "model.w32": np.arange(6, dtype=np.float32).reshape(2, 3) * np.float32(0.25) - 1,
        "model.w16": np.array([0.5, -1.5, 1024.0, 0.333251953125], dtype=np.float16),
        "scalar": np.array(42.0, dtype=np.float32),
    }
    ours, ref = tmp_path / "ours.safetensors", tmp_path / "reference.safetensors"
    fwmerge.save_tensors(ours, tensors, metadata={"format": "pt"})
    back = safetensors.numpy.load_file(str(ours))
    assert back.keys() == tensors.keys()
    for name, want in tensors.items():
        assert back[name].dtype == want.dtype and back[name].shape == want.shape
        assert back[name].tobytes() == want.tobytes()
    with safetensors.safe_open(str(ours), framework="numpy") as f:
        assert f.metadata() == {"format": "pt"}
    # And the very bytes the reference writer produces (one metadata key: the reference writes
    # several in hash-map order).
    safetensors.numpy.save_file(tensors, str(ref), metadata={"format": "pt"})
    assert ours.read_bytes() == ref.read_bytes()


def test_conversions_and_inputs(tmp_path):
    path = tmp_path / "t.safetensors"
    x = np.array([[1.5, -2.0], [0.1, 3.0]], dtype=np.float64)  # float64 is written as float32
    fwmerge.save_tensors(path, {"x": x.T, "empty": np.zeros((0, 4), np.float32)})
    back = safetensors.numpy.load_file(str(path))
    assert back["x"].dtype == np.float32 and np.array_equal(back["x"], x.T.astype(np.float32))
    assert back["empty"].shape == (0, 4)

    fwmerge.save_tensors(path, {"x": x}, dtype=fwmerge.Dtype.F16)
    assert np.array_equal(safetensors.numpy.load_file(str(path))["x"], x.astype(np.float16))

    fwmerge.save_tensors(path, {"x": x}, dtype=fwmerge.Dtype.BF16)
    with open(path, "rb") as f:
        entry = dict(safetensors.deserialize(f.read()))["x"]
    assert entry["dtype"] == "BF16" and list(entry["shape"]) == [2, 2]
    # bf16 = the top 16 bits of the float32 (these values are exact in bf16 but 0.1).
    bits = np.frombuffer(bytes(entry["data"]), "<u2").astype(np.uint32) << 16
    assert bits.view(np.float32).tolist()[::3] == [1.5, 3.0]

    with pytest.raises(TypeError, match="complex128"):  # integers are fine: test_fields.py
        fwmerge.save_tensors(path, {"c": np.zeros(3, np.complex128)})
    with pytest.raises(fwmerge.Error) as info:
        fwmerge.save_tensors(tmp_path / "no" / "dir" / "t.safetensors", {"x": x})
    assert info.value.status is fwmerge.Status.IO
