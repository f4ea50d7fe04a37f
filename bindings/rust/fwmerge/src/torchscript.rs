//! The built-in LibTorch objective: a TorchScript module run on calibration tensors.
use crate::error::{check, Error, Result};
use crate::path::{c_path, c_string};
use crate::solver::Solver;
use fwmerge_sys as sys;
use std::ffi::CString;
use std::os::raw::c_char;
use std::path::PathBuf;

/// One term of the loss: a module method on a calibration input (cross-entropy against `labels`,
/// or prediction entropy without them), weighted.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectiveTerm {
    /// Module method returning logits [N, C]; `None` = "forward".
    pub method: Option<String>,
    /// Calibration tensor name of the inputs [N, ...].
    pub inputs: String,
    /// Calibration tensor name of the labels [N]; `None`: prediction entropy (AdaMerging).
    pub labels: Option<String>,
    /// Finite, > 0.
    pub weight: f64,
}

/// `fw_torchscript_objective`: see include/fwmerge.h.
#[derive(Debug, Clone, PartialEq)]
pub struct TorchScriptObjective {
    pub module_path: PathBuf,
    /// .safetensors holding the terms' inputs and labels.
    pub calibration_path: PathBuf,
    /// (module parameter name, base tensor name) pairs; `None`: match parameters by name.
    pub param_map: Option<Vec<(String, String)>>,
    pub terms: Vec<ObjectiveTerm>,
}

fn opt_c_string(s: &Option<String>, what: &str) -> Result<Option<CString>> {
    s.as_deref().map(|s| c_string(s, what)).transpose()
}

fn ptr_or_null(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr())
}

impl Solver {
    /// Makes the library evaluate the objective itself with a TorchScript module (after
    /// [`Solver::set_base`]); replaces any closure set with [`Solver::set_objective`]. The
    /// library reads everything during this call.
    pub fn set_objective_torchscript(&mut self, objective: &TorchScriptObjective) -> Result<()> {
        let module = c_path(&objective.module_path)?;
        let calibration = c_path(&objective.calibration_path)?;
        // The C strings must outlive the raw structs that point into them.
        let mut strings = Vec::new();
        for t in &objective.terms {
            if !t.weight.is_finite() || t.weight <= 0.0 {
                return Err(Error::invalid(format!(
                    "objective term on {:?}: weight {} must be finite and > 0",
                    t.inputs, t.weight
                )));
            }
            strings.push((
                opt_c_string(&t.method, "method name")?,
                c_string(&t.inputs, "calibration tensor name")?,
                opt_c_string(&t.labels, "calibration tensor name")?,
            ));
        }
        let terms: Vec<sys::fw_objective_term> = objective
            .terms
            .iter()
            .zip(&strings)
            .map(|(t, (method, inputs, labels))| sys::fw_objective_term {
                method: ptr_or_null(method),
                inputs: inputs.as_ptr(),
                labels: ptr_or_null(labels),
                weight: t.weight,
            })
            .collect();
        let map_strings: Vec<CString> = match &objective.param_map {
            Some(pairs) => pairs
                .iter()
                .flat_map(|(p, b)| [c_string(p, "parameter name"), c_string(b, "tensor name")])
                .collect::<Result<_>>()?,
            None => Vec::new(),
        };
        let map_ptrs: Vec<*const c_char> = map_strings.iter().map(|s| s.as_ptr()).collect();

        // SAFETY: plain value-returning call; it sets struct_size.
        let mut raw = unsafe { sys::fw_default_torchscript_objective() };
        raw.module_path = module.as_ptr();
        raw.calibration_path = calibration.as_ptr();
        if objective.param_map.is_some() {
            raw.param_map = map_ptrs.as_ptr();
            raw.n_param_map = map_ptrs.len() / 2;
        }
        raw.terms = if terms.is_empty() {
            std::ptr::null()
        } else {
            terms.as_ptr()
        };
        raw.n_terms = terms.len();
        // SAFETY: every pointer refers to locals that outlive the call.
        check(unsafe { sys::fw_solver_set_objective_torchscript(self.as_raw(), &raw) })?;
        // The library no longer calls a host closure: free it.
        self.drop_objective_closure();
        Ok(())
    }
}
