//! The common quadratic example (identical in every language; the exports must be
//! byte-identical to the C example's): quadratic <pool_dir> <out_file>
use fwmerge::{ExportOptions, GradView, Params, Solver, TensorView};
use std::path::Path;
use std::process::ExitCode;

/// loss = sum 0.5 (theta - target)^2 in a double accumulator, in tensor and element order, with
/// target_j[i] = (((i * 7 + j * 3) % 11) - 5) * 0.125 in float32; grad = theta - target.
fn objective(params: &[TensorView], grads: &mut [GradView]) -> Result<f64, String> {
    let mut loss = 0.0f64;
    for (j, p) in params.iter().enumerate() {
        for (i, &theta) in p.data.iter().enumerate() {
            let target = ((((i * 7 + j * 3) % 11) as i64 - 5) as f32) * 0.125f32;
            let d = theta - target;
            loss += 0.5 * f64::from(d) * f64::from(d);
            if let Some(g) = grads.get_mut(j) {
                g.data[i] = d;
            }
        }
    }
    Ok(loss)
}

fn run(pool: &Path, out: &Path) -> fwmerge::Result<()> {
    let mut solver = Solver::new(&Params {
        max_iters: 10,
        ..Params::default()
    })?;
    solver.set_base(pool.join("base.safetensors"))?;
    for k in 0..4 {
        solver.pool_add(pool.join(format!("member{k}.safetensors")))?;
    }
    solver.set_objective(objective)?;
    solver.run()?;
    for info in solver.history()? {
        println!(
            "step {}: loss {:.6} gap {:.6} gamma {:.4}",
            info.iteration, info.loss, info.gap, info.gamma
        );
    }
    solver.export(out, &ExportOptions::default())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: {} <pool_dir> <out_file>", args[0]);
        return ExitCode::from(2);
    }
    match run(Path::new(&args[1]), Path::new(&args[2])) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
