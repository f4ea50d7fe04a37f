"""fwmerge.load_tensors (fw_load_tensors, 0.3.1), checked against files written by the reference
`safetensors` package and by fwmerge.save_tensors."""

from __future__ import annotations

import numpy as np
import pytest
import safetensors.numpy

import fwmerge


def test_reads_every_dtype_and_the_metadata(tmp_path):
    tensors = {
        "x": np.array([[1, 2], [3, -1]], np.float32),
        "y": np.array([-5, 1 << 40, 7], np.int64),
        "i32": np.array([-(1 << 31), 5], np.int32),
        "u8": np.array([0, 1, 254, 255], np.uint8),
        "mask": np.array([True, False, True]),
        "f16": np.array([0.5, -1.5], np.float16),
        "scalar": np.array(0.25, np.float64),
    }
    path = tmp_path / "calib.safetensors"
    safetensors.numpy.save_file(tensors, str(path), metadata={"task": "labels", "a": "b"})

    ts = fwmerge.load_tensors(path)
    assert set(ts) == set(tensors) and len(ts) == len(tensors)
    for name, want in tensors.items():
        got = ts[name]
        assert got.dtype == want.dtype and got.shape == want.shape, name
        assert np.array_equal(got, want), name
        assert got.flags.writeable and got.flags.owndata is not None
    assert ts["y"].dtype == np.int64 and ts["y"].tolist() == [-5, 1 << 40, 7]
    assert ts.metadata == {"a": "b", "task": "labels"}
    info = {t.name: t for t in ts.info}
    assert info["y"].dtype == "I64" and info["y"].nbytes == 24 and info["y"].shape == (3,)
    assert info["mask"].dtype == "BOOL" and info["scalar"].shape == ()
    assert [t.name for t in ts.info] == list(ts)

    header = fwmerge.load_tensors(path, header_only=True)
    assert [t.name for t in header.info] == [t.name for t in ts.info]
    for t, full in zip(header.info, ts.info):
        assert t.array is None and header[t.name] is None
        assert (t.dtype, t.shape, t.nbytes) == (full.dtype, full.shape, full.nbytes)
    assert header.metadata == ts.metadata


def test_bf16_comes_as_uint16_bit_patterns(tmp_path):
    path = tmp_path / "bf16.safetensors"
    fwmerge.save_tensors(
        path, {"h": np.array([1.0, -2.0], np.float32)}, dtype=fwmerge.Dtype.BF16
    )
    ts = fwmerge.load_tensors(path)
    assert ts.info[0].dtype == "BF16"
    assert ts["h"].dtype == np.uint16 and ts["h"].tolist() == [0x3F80, 0xC000]
    assert ((ts["h"].astype(np.uint32) << 16).view(np.float32)).tolist() == [1.0, -2.0]


def test_round_trip_with_save_tensors(tmp_path):
    path = tmp_path / "w.safetensors"
    w = np.arange(6, dtype=np.float32).reshape(2, 3) - 2
    fwmerge.save_tensors(path, {"w": w}, metadata={"format": "pt"})
    ts = fwmerge.load_tensors(path)
    assert np.array_equal(ts["w"], w) and ts.metadata == {"format": "pt"}


def test_errors(tmp_path):
    with pytest.raises(fwmerge.Error) as info:
        fwmerge.load_tensors(tmp_path / "missing.safetensors")
    assert info.value.status is fwmerge.Status.IO and "missing.safetensors" in info.value.message
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(fwmerge.Error) as info:
        fwmerge.load_tensors(bad, header_only=True)
    assert info.value.status is fwmerge.Status.FORMAT
