//! The Python worker's injected slowdown (`bench --inject-slowdown
//! python-subprocess=PCT`, the gate's sensitivity test) adds PCT% to the
//! token period both where its dispatch overlapped the computation (several
//! CPUs) and where nothing overlaps (`gate --pin-cpu`: one CPU). Checked on
//! a simulated clock (tests/helpers/injector_sim.py), so no machine's noise
//! can change the result; what a real run realises is measured by
//! scripts/gate_ab_experiment.sh.

mod common;

use common::{root, venv_python};
use std::process::Command;

#[test]
fn the_python_injection_adds_its_percent_on_one_cpu_and_on_several() {
    let out = Command::new(venv_python())
        .arg(root().join("tests/helpers/injector_sim.py"))
        .output()
        .expect("run tests/helpers/injector_sim.py with .venv's python");
    assert!(
        out.status.success(),
        "injector_sim.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ratios: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for cpus in ["two_cpus", "one_cpu"] {
        let r = ratios[cpus].as_f64().unwrap();
        // +5% injected; the simulated clock's 1 us per reading costs < 0.1%.
        assert!(
            (r - 1.05).abs() < 0.002,
            "{cpus}: the injection realised {:+.2}%, not +5%",
            (r - 1.0) * 100.0
        );
    }
}
