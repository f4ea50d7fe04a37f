//! TensorSet (fw_load_tensors) reads files the reference safetensors crate wrote: integer labels,
//! a bf16 matrix and metadata, byte for byte; header-only reads accept dtypes it cannot load.
mod common;
use common::*;
use fwmerge::{Status, TensorSet};
use safetensors::tensor::{serialize, TensorView as StView};
use safetensors::Dtype as StDtype;
use std::collections::HashMap;

#[test]
fn reads_what_the_reference_writer_wrote() {
    let dir = tmp_dir("tensor-set");
    let labels: Vec<u8> = [3i64, -1, 1 << 40]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let w: Vec<u8> = [0x3f80u16, 0xbf00, 0x4040, 0x0000]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let meta = HashMap::from([("task".to_string(), "digits".to_string())]);
    let bytes = serialize(
        [
            (
                "labels",
                StView::new(StDtype::I64, vec![3], &labels).unwrap(),
            ),
            ("w", StView::new(StDtype::BF16, vec![2, 2], &w).unwrap()),
        ],
        Some(meta),
    )
    .unwrap();
    let path = dir.join("calib.safetensors");
    std::fs::write(&path, &bytes).unwrap();

    let set = TensorSet::load(&path, false).unwrap();
    assert_eq!(set.len(), 2);
    let by_name: HashMap<&str, _> = set.iter().map(|t| (t.name, t)).collect();
    assert_eq!(by_name["labels"].dtype, "I64");
    assert_eq!(by_name["labels"].shape, &[3]);
    assert_eq!(by_name["labels"].bytes, Some(&labels[..]));
    assert_eq!(by_name["w"].dtype, "BF16");
    assert_eq!(by_name["w"].shape, &[2, 2]);
    assert_eq!(by_name["w"].nbytes, 8);
    assert_eq!(by_name["w"].bytes, Some(&w[..]));
    assert_eq!(set.metadata(), vec![("task", "digits")]);
    assert!(set.get(2).is_none());

    let header = TensorSet::load(&path, true).unwrap();
    assert!(header.iter().all(|t| t.bytes.is_none()));
    assert_eq!(header.iter().map(|t| t.nbytes).sum::<u64>(), 32);

    let f8 = vec![0x38u8, 0x40];
    let bytes = serialize(
        [("q", StView::new(StDtype::F8_E4M3, vec![2], &f8).unwrap())],
        None,
    )
    .unwrap();
    let f8_path = dir.join("f8.safetensors");
    std::fs::write(&f8_path, &bytes).unwrap();
    assert_eq!(
        TensorSet::load(&f8_path, true)
            .unwrap()
            .get(0)
            .unwrap()
            .dtype,
        "F8_E4M3"
    );
    assert_eq!(
        TensorSet::load(&f8_path, false).unwrap_err().status(),
        Status::Unsupported
    );
    assert_eq!(
        TensorSet::load(dir.join("missing"), false)
            .unwrap_err()
            .status(),
        Status::Io
    );
}

#[test]
fn typed_accessors_copy_f32_and_i64_elements() {
    let dir = tmp_dir("tensor-set-typed");
    let w = [1.5f32, -2.0, 0.25];
    let labels = [7i64, -3];
    let w_bytes: Vec<u8> = w.iter().flat_map(|v| v.to_le_bytes()).collect();
    let label_bytes: Vec<u8> = labels.iter().flat_map(|v| v.to_le_bytes()).collect();
    let bytes = serialize(
        [
            ("w", StView::new(StDtype::F32, vec![3], &w_bytes).unwrap()),
            (
                "labels",
                StView::new(StDtype::I64, vec![2], &label_bytes).unwrap(),
            ),
        ],
        None,
    )
    .unwrap();
    let path = dir.join("typed.safetensors");
    std::fs::write(&path, &bytes).unwrap();

    let set = TensorSet::load(&path, false).unwrap();
    let by_name: HashMap<&str, _> = set.iter().map(|t| (t.name, t)).collect();
    assert_eq!(by_name["w"].to_f32s().unwrap(), w);
    assert_eq!(by_name["labels"].to_i64s().unwrap(), labels);
    // The wrong dtype, and a header-only read, are refused rather than reinterpreted.
    assert_eq!(
        by_name["w"].to_i64s().unwrap_err().status(),
        Status::InvalidArgument
    );
    assert_eq!(
        by_name["labels"].to_f32s().unwrap_err().status(),
        Status::InvalidArgument
    );
    let header = TensorSet::load(&path, true).unwrap();
    let w_header = header.iter().find(|t| t.name == "w").unwrap();
    assert_eq!(
        w_header.to_f32s().unwrap_err().status(),
        Status::InvalidArgument
    );
}
