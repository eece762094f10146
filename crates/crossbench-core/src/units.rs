//! The one formatter of times and sizes for every human-readable output
//! (summary.md, the HTML report, the claims tables): three significant digits
//! and binary byte units, so one figure reads the same everywhere.

/// Nanoseconds with the unit that keeps three significant digits:
/// "3.33 ns", "58.2 ns", "250 ns", "13.6 ms", "7.45 s".
pub fn fmt_ns(ns: f64) -> String {
    let (value, unit) = match ns.abs() {
        a if a >= 1e9 => (ns / 1e9, "s"),
        a if a >= 1e6 => (ns / 1e6, "ms"),
        a if a >= 1e3 => (ns / 1e3, "µs"),
        _ => (ns, "ns"),
    };
    format!("{} {unit}", three_digits(value))
}

/// Bytes in MiB (GiB from 1024 MiB): "698.0 MiB", "4.38 GiB".
pub fn fmt_bytes(bytes: f64) -> String {
    let mib = bytes / (1024.0 * 1024.0);
    if mib.abs() >= 1024.0 {
        format!("{:.2} GiB", mib / 1024.0)
    } else {
        format!("{mib:.1} MiB")
    }
}

/// A ratio as a signed percentage change: 1.012 -> "+1.2%".
pub fn fmt_pct_change(ratio: f64) -> String {
    format!("{:+.1}%", (ratio - 1.0) * 100.0)
}

/// "+1.2% [+0.4%, +2.0%]" for a ratio interval.
pub fn fmt_ratio_ci(ci: &crate::stats::Interval) -> String {
    let pct = fmt_pct_change;
    format!("{} [{}, {}]", pct(ci.estimate), pct(ci.low), pct(ci.high))
}

/// "95%" for 0.95, "93.8%" for 0.9375, "98.3%" for a look's 0.98333: no
/// ".0" on a round confidence, and a per-look confidence not rounded to 98%.
pub fn fmt_confidence(confidence: f64) -> String {
    let pct = format!("{:.1}", confidence * 100.0);
    format!("{}%", pct.strip_suffix(".0").unwrap_or(&pct))
}

fn three_digits(v: f64) -> String {
    match v.abs() {
        a if a >= 100.0 => format!("{v:.0}"),
        a if a >= 10.0 => format!("{v:.1}"),
        _ => format!("{v:.2}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_significant_digits_in_the_right_unit() {
        assert_eq!(fmt_ns(3.33), "3.33 ns");
        assert_eq!(fmt_ns(58.23), "58.2 ns");
        assert_eq!(fmt_ns(250.0), "250 ns");
        assert_eq!(fmt_ns(45_920.0), "45.9 µs");
        assert_eq!(fmt_ns(13_619_000.0), "13.6 ms");
        assert_eq!(fmt_ns(7_453_000_000.0), "7.45 s");
        assert_eq!(fmt_ns(-1500.0), "-1.50 µs");
        assert_eq!(fmt_bytes(731_779_072.0), "697.9 MiB");
        assert_eq!(fmt_bytes(4.7e9), "4.38 GiB");
        assert_eq!(fmt_pct_change(1.012), "+1.2%");
        assert_eq!(fmt_pct_change(0.937), "-6.3%");
        assert_eq!(fmt_confidence(0.95), "95%");
        assert_eq!(fmt_confidence(1.0 - 0.05 / 3.0), "98.3%");
        assert_eq!(fmt_confidence(0.9375), "93.8%");
    }
}
