//! Hostile numbers: safetensors headers whose shapes overflow, whose offsets
//! are fractional, negative, huge or past the end of the file, whose header
//! length lies; config.json values out of range. Each is a clear error (no
//! crash, no undefined cast), with the tensor or key named.

mod hostile;

use crossbench_shim::ErrorKind;
use hostile::{micro_config, write_safetensors};

/// A one-tensor header: `"t": {"dtype": dtype, "shape": shape, "data_offsets": offsets}`.
fn header(dtype: &str, shape: &str, offsets: &str) -> String {
    format!(r#"{{"t":{{"dtype":"{dtype}","shape":{shape},"data_offsets":{offsets}}}}}"#)
}

/// (what, header, length prefix, data bytes, kind, words in the message)
type HeaderCase<'a> = (&'a str, String, Option<u64>, usize, ErrorKind, Vec<&'a str>);
/// (what, config patch, words in the message)
type ConfigCase<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a str]);

#[test]
fn crafted_safetensors_headers_are_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), micro_config(&[])).unwrap();
    let file = dir.path().join("model.safetensors");
    let f32 = |shape: &str, offsets: &str| header("F32", shape, offsets);
    let cases: Vec<HeaderCase> = vec![
        (
            "elements x 4 bytes wrap to 0 in 64 bits",
            f32("[65536,65536,65536,65536]", "[0,0]"),
            None,
            0,
            ErrorKind::Format,
            vec!["'t'", "overflows"],
        ),
        (
            "a dimension beyond MLX's int32",
            f32("[4294967296,0]", "[0,0]"),
            None,
            0,
            ErrorKind::Format,
            vec!["'t'", "shape entry"],
        ),
        (
            "a dimension of 1e300",
            f32("[1e300]", "[0,4]"),
            None,
            4,
            ErrorKind::Format,
            vec!["'t'", "shape entry"],
        ),
        (
            "a fractional dimension",
            f32("[2.5]", "[0,8]"),
            None,
            8,
            ErrorKind::Format,
            vec!["'t'", "shape entry"],
        ),
        (
            "fractional offsets",
            f32("[4]", "[0,16.5]"),
            None,
            32,
            ErrorKind::Format,
            vec!["'t'", "data_offsets"],
        ),
        (
            "negative offsets",
            f32("[4]", "[-16,0]"),
            None,
            32,
            ErrorKind::Format,
            vec!["'t'", "data_offsets"],
        ),
        (
            "offsets of 1e30",
            f32("[4]", "[1e30,1e30]"),
            None,
            32,
            ErrorKind::Format,
            vec!["'t'", "data_offsets"],
        ),
        (
            "a number beyond double",
            f32("[4]", "[0,1e400]"),
            None,
            32,
            ErrorKind::Format,
            vec!["model.safetensors", "out of range"],
        ),
        (
            "an unknown dtype",
            header("F4", "[4]", "[0,2]"),
            None,
            2,
            ErrorKind::Format,
            vec!["'t'", "unknown dtype"],
        ),
        (
            "offsets past the end of the file",
            f32("[4]", "[0,16]"),
            None,
            8,
            ErrorKind::Io,
            vec!["'t'", "truncated"],
        ),
        (
            "a header length beyond the file",
            f32("[4]", "[0,16]"),
            Some(1000),
            16,
            ErrorKind::Io,
            vec!["model.safetensors", "truncated"],
        ),
        (
            "a header length of 2^64-1",
            f32("[4]", "[0,16]"),
            Some(u64::MAX),
            16,
            ErrorKind::Format,
            vec!["model.safetensors", "implausible"],
        ),
    ];
    for (what, h, hlen, data, kind, words) in cases {
        write_safetensors(&file, &h, hlen, data);
        let e = hostile::load_err(dir.path());
        assert_eq!(e.kind(), kind, "{what}: {e}");
        for w in words {
            assert!(
                e.to_string().contains(w),
                "{what}: message lacks {w:?}: {e}"
            );
        }
    }
}

#[test]
fn config_numbers_out_of_range_are_refused_naming_the_key() {
    let (_outer, dir) = hostile::micro(0);
    let cases: &[ConfigCase] = &[
        (
            "heads of 1e300",
            &[(
                r#""num_attention_heads":2"#,
                r#""num_attention_heads":1e300"#,
            )],
            &["'num_attention_heads'"],
        ),
        (
            "heads x head_dim beyond int32",
            &[
                (
                    r#""num_attention_heads":2"#,
                    r#""num_attention_heads":65536"#,
                ),
                (
                    r#""num_key_value_heads":1"#,
                    r#""num_key_value_heads":65536"#,
                ),
                (r#""head_dim":32"#, r#""head_dim":65536"#),
            ],
            &["'num_attention_heads'", "head_dim", "4294967296"],
        ),
        (
            "head_dim implied as 0",
            &[
                (r#""head_dim":32,"#, ""),
                (r#""num_attention_heads":2"#, r#""num_attention_heads":128"#),
                (r#""num_key_value_heads":1"#, r#""num_key_value_heads":128"#),
            ],
            &["'head_dim'"],
        ),
        (
            "an epsilon beyond float",
            &[(r#""rms_norm_eps":1e-5"#, r#""rms_norm_eps":1e300"#)],
            &["'rms_norm_eps'", "float range"],
        ),
        (
            "a theta beyond double",
            &[(r#""rope_theta":10000.0"#, r#""rope_theta":1e400"#)],
            &["config.json", "out of range"],
        ),
    ];
    let cfg = dir.join("config.json");
    for (what, patch, words) in cases {
        std::fs::write(&cfg, micro_config(patch)).unwrap();
        let e = hostile::load_err(&dir);
        assert_eq!(e.kind(), ErrorKind::Format, "{what}: {e}");
        for w in *words {
            assert!(
                e.to_string().contains(w),
                "{what}: message lacks {w:?}: {e}"
            );
        }
    }
}

#[test]
fn make_weights_refuses_a_config_whose_products_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let config = micro_config(&[
        (
            r#""num_attention_heads":2"#,
            r#""num_attention_heads":65536"#,
        ),
        (
            r#""num_key_value_heads":1"#,
            r#""num_key_value_heads":65536"#,
        ),
        (r#""head_dim":32"#, r#""head_dim":65536"#),
    ]);
    std::fs::write(dir.path().join("config.json"), config).unwrap();
    let e = crossbench_shim::make_weights(dir.path(), 0, "float32", None, 0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Format, "{e}");
    assert!(e.to_string().contains("head_dim"), "{e}");
    assert!(
        !dir.path().join("model.safetensors").exists(),
        "nothing written"
    );
}
