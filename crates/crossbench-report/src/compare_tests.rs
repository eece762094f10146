use super::*;
use crate::test_support::run;

#[test]
fn change_is_the_ratio_of_medians_with_an_interval() {
    let a = run(&[("native-cpp", 10.0), ("ffi-token", 11.0)], 5, 20);
    let b = run(&[("native-cpp", 12.0), ("ffi-token", 11.0)], 5, 20);
    let cmp = compare_runs(&[("runA".into(), a), ("runB".into(), b)]).unwrap();
    let line = cmp
        .markdown
        .lines()
        .find(|l| l.starts_with("| native-cpp | decode time |"))
        .unwrap();
    assert!(line.contains("| +20.0% ["), "{line}");
    let same = cmp
        .markdown
        .lines()
        .find(|l| l.starts_with("| ffi-token | decode time |"))
        .unwrap();
    assert!(same.contains("| +0.0% ["), "{same}");
    assert!(cmp.markdown.contains("- A: runA") && cmp.markdown.contains("- B: runB"));
    assert!(cmp.html.contains("<h2>Runs</h2>") && cmp.html.contains("Changes against A"));
    assert!(!cmp.html.contains("http://") && !cmp.html.contains("https://"));
}

#[test]
fn backend_missing_from_one_run_is_absent_not_an_error() {
    let a = run(&[("native-cpp", 10.0), ("python-subprocess", 14.0)], 3, 10);
    let b = run(&[("native-cpp", 10.0)], 3, 10);
    let cmp = compare_runs(&[("a".into(), a), ("b".into(), b)]).unwrap();
    let line = cmp
        .markdown
        .lines()
        .find(|l| l.starts_with("| python-subprocess | end-to-end time |"))
        .unwrap();
    assert!(line.contains("| absent | —"), "{line}");
}

#[test]
fn different_scenarios_or_one_run_are_refused() {
    let a = run(&[("mock", 1.0)], 2, 5);
    let mut b = a.clone();
    b.scenario.name = "prefill512".into();
    let err = compare_runs(&[("a".into(), a.clone()), ("b".into(), b)])
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("scenario `prefill512`") && err.contains("`gen100`"),
        "{err}"
    );
    assert!(compare_runs(&[("a".into(), a)]).is_err());
}

#[test]
fn runs_from_different_machines_and_builds_say_so_and_are_not_pooled() {
    let a = run(&[("native-cpp", 10.0)], 3, 10);
    let mut b = a.clone();
    let same = compare_runs(&[("a".into(), a.clone()), ("b".into(), b.clone())]).unwrap();
    assert!(
        same.markdown.contains("B vs A: same machine"),
        "{}",
        same.markdown
    );
    b.environment.mlx_version = Some("0.99.0".into());
    b.environment.blas = Some("MLX wheel's bundled BLAS".into());
    b.environment.cpu_model = Some("Apple M4".into());
    let cmp = compare_runs(&[("a".into(), a), ("b".into(), b)]).unwrap();
    let line = cmp
        .markdown
        .lines()
        .find(|l| l.contains("B vs A differs in more than the code"))
        .unwrap_or_else(|| panic!("{}", cmp.markdown));
    for fact in ["cpu name", "MLX", "0.99.0", "BLAS"] {
        assert!(line.contains(fact), "{fact} in {line}");
    }
    assert!(cmp.html.contains("differs in more than the code"));
}

#[test]
fn hostile_backend_name_stays_in_its_markdown_cell() {
    let name = "x | y\n<img src=z>";
    let a = run(&[("native-cpp", 10.0), (name, 11.0)], 3, 10);
    let b = run(&[("native-cpp", 10.0), (name, 11.0)], 3, 10);
    let cmp = compare_runs(&[("a".into(), a), ("b".into(), b)]).unwrap();
    let header = crossbench_core::export::md_cells(
        cmp.markdown
            .lines()
            .find(|l| l.starts_with("| Backend"))
            .unwrap(),
    );
    let rows: Vec<&str> = cmp
        .markdown
        .lines()
        .filter(|l| l.starts_with("| x"))
        .collect();
    assert_eq!(rows.len(), 6, "{}", cmp.markdown);
    for row in rows {
        assert_eq!(
            crossbench_core::export::md_cells(row).len(),
            header.len(),
            "{row}"
        );
        assert!(row.starts_with("| x \\| y \\<img src=z\\> |"), "{row}");
    }
    assert!(!cmp.html.contains("<img"));
}

#[test]
fn another_gpu_driver_is_another_machine_and_gpu_runs_get_a_gpu_row() {
    let identity = include_str!("../../crossbench-core/fixtures/nvidia-smi/h200-identity.csv");
    let mut a = run(&[("native-cpp", 1.0)], 3, 10);
    a.environment.device = Some("gpu".into());
    a.environment.gpu =
        Some(crossbench_core::gpu::nvidia_smi::parse_identity(identity.trim()).unwrap());
    let mut b = a.clone();
    b.environment.gpu.as_mut().unwrap().driver_version = Some("570.86.15".into());
    let cmp = compare_runs(&[("a".into(), a), ("b".into(), b)]).unwrap();
    let line = cmp
        .markdown
        .lines()
        .find(|l| l.contains("B vs A differs in more than the code"))
        .unwrap_or_else(|| panic!("{}", cmp.markdown));
    assert!(
        line.contains("gpu: NVIDIA H200") && line.contains("570.86.15"),
        "{line}"
    );
    assert!(
        cmp.html
            .contains("<td>GPU</td><td>NVIDIA H200 · driver 580.159.04"),
        "no GPU row"
    );
    let cpu = run(&[("native-cpp", 1.0)], 3, 10);
    let cmp = compare_runs(&[("a".into(), cpu.clone()), ("b".into(), cpu)]).unwrap();
    assert!(
        !cmp.html.contains("<td>GPU</td>"),
        "CPU runs have no GPU row"
    );
}
