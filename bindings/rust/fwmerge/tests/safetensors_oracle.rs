//! The reference `safetensors` crate reads what fwmerge writes; every tensor is compared.
mod common;
use common::*;
use fwmerge::{save_tensors, Dtype, ExportOptions, Params, Status, TensorView};
use safetensors::{Dtype as StDtype, SafeTensors};

fn f32_le(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// f32 -> bf16 bits, round to nearest even (finite inputs), written independently of the library.
fn bf16_bits(x: f32) -> u16 {
    let b = x.to_bits();
    ((b + 0x7fff + ((b >> 16) & 1)) >> 16) as u16
}

#[test]
fn export_matches_current_tensor_by_tensor() {
    let dir = tmp_dir("oracle-export");
    write_pool(&dir);
    let mut s = pool_solver(
        &dir,
        &Params {
            max_iters: 4,
            epsilon: 0.0,
            ..Params::default()
        },
    );
    let (m0, m2) = (member_values(0), member_values(2));
    let target: Vec<Vec<f32>> = m0
        .iter()
        .zip(&m2)
        .map(|(a, b)| a.iter().zip(b).map(|(x, y)| 0.6 * x + 0.4 * y).collect())
        .collect();
    s.set_objective(move |p, g| Ok::<_, String>(quadratic(&target, p, g)))
        .unwrap();
    s.run().unwrap();
    let out = dir.join("merged.safetensors");
    s.export(&out, &ExportOptions::default()).unwrap();

    let bytes = std::fs::read(&out).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let current = snapshot(&s);
    assert_eq!(st.len(), current.len());
    for (name, shape, data) in &current {
        let t = st.tensor(name).unwrap();
        assert_eq!(t.dtype(), StDtype::F32, "{name}");
        let want_shape: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
        assert_eq!(t.shape(), &want_shape[..], "{name}");
        let got = f32_le(t.data());
        assert_eq!(got.len(), data.len());
        assert!(
            got.iter()
                .zip(data)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{name}"
        );
    }
    // The point moved off the base, so the comparison is not trivially base == base.
    assert_ne!(current[0].2, base_values()[layout_index(&current[0].0)]);

    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    let kv = meta.metadata().as_ref().expect("__metadata__");
    assert_eq!(kv.get("format").map(String::as_str), Some("pt"));
    assert!(kv
        .get("fwmerge.recipe")
        .is_some_and(|r| r.contains("member3.safetensors")));
    assert!(kv.get("fwmerge.history").is_some());

    // bf16 export: each element is the round-to-nearest-even of the fp32 value.
    let out16 = dir.join("merged-bf16.safetensors");
    s.export(
        &out16,
        &ExportOptions {
            dtype: Dtype::BF16,
            ..ExportOptions::default()
        },
    )
    .unwrap();
    let bytes = std::fs::read(&out16).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    for (name, _, data) in &current {
        let t = st.tensor(name).unwrap();
        assert_eq!(t.dtype(), StDtype::BF16);
        let got: Vec<u16> = t
            .data()
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        let want: Vec<u16> = data.iter().map(|&x| bf16_bits(x)).collect();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn save_tensors_is_read_back_exactly() {
    let dir = tmp_dir("oracle-save");
    let values = member_values(1);
    let path = dir.join("saved.safetensors");
    save_tensors(
        &path,
        &views(&values),
        Dtype::Default,
        &[("origin", "rust test"), ("k", "v")],
    )
    .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.len(), LAYOUT.len());
    for ((name, shape), data) in LAYOUT.iter().zip(&values) {
        let t = st.tensor(name).unwrap();
        assert_eq!(t.dtype(), StDtype::F32);
        assert_eq!(
            t.shape(),
            &shape.iter().map(|&d| d as usize).collect::<Vec<_>>()[..]
        );
        assert_eq!(f32_le(t.data()), *data);
    }
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    let kv = meta.metadata().as_ref().unwrap();
    assert_eq!(kv.get("origin").map(String::as_str), Some("rust test"));
    assert_eq!(kv.get("k").map(String::as_str), Some("v"));
}

#[test]
fn save_tensors_rejects_a_shape_that_does_not_fit_the_data() {
    let dir = tmp_dir("oracle-bad");
    let data = [1.0f32, 2.0, 3.0];
    let bad = [TensorView {
        name: "w",
        shape: &[2, 2],
        data: &data,
    }];
    let e = save_tensors(dir.join("x.safetensors"), &bad, Dtype::F32, &[]).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains("4 elements but data has 3"), "{e}");
    assert!(!dir.join("x.safetensors").exists());
}
