//! Finds libfwmerge: the folder in FWMERGE_LIB_DIR if set, else `pkg-config --libs fwmerge`
//! (called directly, so the crate has no build dependencies). At run time the library must be on
//! the loader's path (installed, LD_LIBRARY_PATH, or an rpath of the final binary).
use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=FWMERGE_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG");
    println!("cargo:rerun-if-changed=build.rs");

    if let Some(dir) = env::var_os("FWMERGE_LIB_DIR").filter(|d| !d.is_empty()) {
        let dir = dir.to_string_lossy().into_owned();
        println!("cargo:rustc-link-search=native={dir}");
        println!("cargo:rustc-link-lib=dylib=fwmerge");
        // Dependents (e.g. a CMake-driven test) read this as DEP_FWMERGE_LIB_DIR.
        println!("cargo:lib_dir={dir}");
        return;
    }

    let pkg_config = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".to_string());
    match Command::new(&pkg_config)
        .args(["--libs", "fwmerge"])
        .output()
    {
        Ok(out) if out.status.success() => {
            let flags = String::from_utf8_lossy(&out.stdout).into_owned();
            let mut linked = false;
            for flag in flags.split_whitespace() {
                if let Some(dir) = flag.strip_prefix("-L") {
                    println!("cargo:rustc-link-search=native={dir}");
                    println!("cargo:lib_dir={dir}");
                } else if let Some(lib) = flag.strip_prefix("-l") {
                    println!("cargo:rustc-link-lib=dylib={lib}");
                    linked |= lib == "fwmerge";
                }
            }
            if !linked {
                println!("cargo:rustc-link-lib=dylib=fwmerge");
            }
        }
        result => {
            // Still link by name: the library may sit in a default linker path. If not, the link
            // step fails with "cannot find -lfwmerge", and this warning says what to set.
            let why = match result {
                Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_string(),
                Err(e) => format!("cannot run {pkg_config}: {e}"),
            };
            println!(
                "cargo:warning=fwmerge not found through pkg-config ({why}); \
                 set FWMERGE_LIB_DIR to the folder holding libfwmerge.so or PKG_CONFIG_PATH to \
                 the folder holding fwmerge.pc"
            );
            println!("cargo:rustc-link-lib=dylib=fwmerge");
        }
    }
}
