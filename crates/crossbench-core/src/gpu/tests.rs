//! The nvidia-smi parsers and the report line over the recorded-format
//! fixtures of an H200 (fixtures/nvidia-smi/README.md says how they were made).

use super::nvidia_smi::{parse_cuda_version, parse_identity, parse_sample};
use super::*;

const IDENTITY: &str = include_str!("../../fixtures/nvidia-smi/h200-identity.csv");
const SAMPLES: &str = include_str!("../../fixtures/nvidia-smi/h200-samples.csv");
const BANNER: &str = include_str!("../../fixtures/nvidia-smi/h200-header.txt");

pub(crate) fn h200() -> GpuInfo {
    let mut g = parse_identity(IDENTITY.trim()).unwrap();
    g.cuda_driver_version = parse_cuda_version(BANNER);
    g
}

#[test]
fn the_h200_identity_is_read_field_by_field() {
    let g = h200();
    assert_eq!(g.api, "cuda");
    assert_eq!(g.name, "NVIDIA H200");
    assert_eq!(g.index, Some(0));
    assert_eq!(g.driver_version.as_deref(), Some("580.159.04"));
    assert_eq!(g.memory_total_bytes, Some(143771 << 20));
    assert_eq!(g.pci_bus_id.as_deref(), Some("00000000:19:00.0"));
    assert_eq!(g.max_sm_clock_mhz, Some(1980.0));
    assert_eq!(g.power_limit_w, Some(700.0));
    assert_eq!(g.cuda_driver_version.as_deref(), Some("13.0"));
    assert_eq!(
        g.describe(),
        "NVIDIA H200 · driver 580.159.04 · CUDA 13.0 (driver) · 140.40 GiB"
    );
}

#[test]
fn a_bad_identity_line_is_an_error_naming_it() {
    let e = parse_identity("0, NVIDIA H200").unwrap_err().to_string();
    assert!(
        e.contains("0, NVIDIA H200") && e.contains("9 identity fields"),
        "{e}"
    );
    let e = parse_identity("0, [N/A], 1, 2, 3, 4, 5, 6, 7").unwrap_err();
    assert!(e.to_string().contains("no GPU name"), "{e}");
}

#[test]
fn cuda_version_is_read_from_the_banner_and_from_q() {
    assert_eq!(
        parse_cuda_version("    CUDA Version                          : 12.8\n").as_deref(),
        Some("12.8")
    );
    assert_eq!(parse_cuda_version("no such line"), None);
}

#[test]
fn samples_are_summarised_and_na_fields_skipped() {
    let samples: Vec<_> = SAMPLES.lines().filter_map(parse_sample).collect();
    assert_eq!(samples.len(), 7);
    assert_eq!(samples[5].sm_clock_mhz, None, "[N/A] is absent, not 0");
    assert_eq!(parse_sample(""), None);
    assert_eq!(parse_sample("Failed to initialize NVML"), None);
    let t = GpuTelemetry::from_samples(&samples, 250);
    assert_eq!(t.samples, 7);
    let sm = t.sm_clock_mhz.unwrap();
    assert_eq!((sm.min, sm.median, sm.max), (345.0, 1980.0, 1980.0));
    let p = t.power_w.unwrap();
    assert_eq!((p.min, p.max), (74.12, 271.44));
    assert_eq!(t.memory_used_peak_bytes, Some(4525 << 20));
    let text = t.describe();
    assert!(
        text.starts_with("SM clock 345/1980/1980 MHz, memory clock 1593/3201/3201 MHz"),
        "{text}"
    );
    assert!(
        text.ends_with("(min/median/max), 7 samples every 250 ms"),
        "{text}"
    );
}
