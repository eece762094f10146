//! A safetensors header reader, as shims/src/safetensors.cpp: every tensor's
//! dtype, shape and offsets are checked (overflow-checked products, offsets
//! within the file) before MLX ever maps the file.

use crate::Error;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// MLX keeps every dimension in an i32, so a larger one cannot be loaded.
const MAX_DIM: u64 = i32::MAX as u64;
/// Offsets beyond 2^53 are not exact in a JSON double, and no file is that large.
const MAX_OFFSET: u64 = 1 << 53;
/// A header longer than this is not a safetensors header.
const MAX_HEADER: u64 = 100 << 20;

#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub file: PathBuf,
    /// Safetensors spelling: F32, F16, BF16, U32, ...
    pub dtype: String,
    pub shape: Vec<i64>,
    /// data_offsets, relative to the data section.
    pub begin: u64,
    pub end: u64,
}

/// Bytes per element of a safetensors dtype, 0 when unknown.
pub fn dtype_size(d: &str) -> u64 {
    match d {
        "F64" | "I64" | "U64" | "C64" => 8,
        "F32" | "I32" | "U32" => 4,
        "F16" | "BF16" | "I16" | "U16" => 2,
        "I8" | "U8" | "BOOL" | "F8_E4M3" | "F8_E5M2" => 1,
        _ => 0,
    }
}

pub fn shape_str(shape: &[i64]) -> String {
    let dims: Vec<String> = shape.iter().map(i64::to_string).collect();
    format!("[{}]", dims.join(", "))
}

/// A JSON number that is a whole number in [0, max] (the shim accepts 4.0 too).
fn whole(v: &Value, max: u64) -> Option<u64> {
    let n = match v.as_u64() {
        Some(n) => n,
        None => {
            let x = v.as_f64().filter(|x| *x >= 0.0 && x.fract() == 0.0)?;
            if x > max as f64 {
                return None;
            }
            x as u64
        }
    };
    (n <= max).then_some(n)
}

fn parse_entry(path: &Path, name: &str, v: &Value) -> Result<TensorInfo, Error> {
    let bad = |why: String| Error::Format(format!("{}: tensor {name:?}: {why}", path.display()));
    let dtype = v.get("dtype").and_then(Value::as_str);
    let shape = v.get("shape").and_then(Value::as_array);
    let offsets = v.get("data_offsets").and_then(Value::as_array);
    let dtype = dtype
        .ok_or_else(|| bad("missing dtype".into()))?
        .to_string();
    let shape_v = shape.ok_or_else(|| bad("missing shape".into()))?;
    let offsets = offsets
        .filter(|o| o.len() == 2)
        .ok_or_else(|| bad("missing data_offsets".into()))?;
    let es = dtype_size(&dtype);
    if es == 0 {
        return Err(bad(format!("unknown dtype {dtype:?}")));
    }
    let mut bytes = es; // dtype size x every dimension, overflow-checked
    let mut shape = Vec::with_capacity(shape_v.len());
    for d in shape_v {
        let n = whole(d, MAX_DIM).ok_or_else(|| {
            bad(format!(
                "shape entry must be a whole number in [0, {MAX_DIM}]"
            ))
        })?;
        shape.push(n as i64);
        bytes = bytes.checked_mul(n).ok_or_else(|| {
            bad(format!(
                "shape {}... overflows a 64-bit byte count",
                shape_str(&shape)
            ))
        })?;
    }
    let (begin, end) = match (
        whole(&offsets[0], MAX_OFFSET),
        whole(&offsets[1], MAX_OFFSET),
    ) {
        (Some(b), Some(e)) => (b, e),
        _ => return Err(bad("data_offsets must be whole numbers in [0, 2^53]".into())),
    };
    if end < begin {
        return Err(bad("data_offsets end before begin".into()));
    }
    if end - begin != bytes {
        return Err(bad(format!(
            "data_offsets span {} bytes but {dtype} {} needs {bytes}",
            end - begin,
            shape_str(&shape)
        )));
    }
    Ok(TensorInfo {
        file: path.to_path_buf(),
        dtype,
        shape,
        begin,
        end,
    })
}

/// The header of one .safetensors file: Io when the file is missing or shorter
/// than the data its header describes, Format when the header is malformed.
pub fn read_header(path: &Path) -> Result<BTreeMap<String, TensorInfo>, Error> {
    let io = |why: String| Error::Io(format!("{}: {why}", path.display()));
    let mut f = std::fs::File::open(path).map_err(|e| io(format!("cannot open: {e}")))?;
    let file_size = f.metadata().map_err(|e| io(e.to_string()))?.len();
    let mut len = [0u8; 8];
    f.read_exact(&mut len)
        .map_err(|_| io("truncated (shorter than the 8-byte header length)".into()))?;
    let hlen = u64::from_le_bytes(len);
    if hlen > MAX_HEADER {
        return Err(Error::Format(format!(
            "{}: header length {hlen} is implausible",
            path.display()
        )));
    }
    if 8 + hlen > file_size {
        return Err(io(format!(
            "truncated (header needs {} bytes, file has {file_size})",
            8 + hlen
        )));
    }
    let mut header = vec![0u8; hlen as usize];
    f.read_exact(&mut header).map_err(|e| io(e.to_string()))?;
    let root: Value = serde_json::from_slice(&header).map_err(|e| {
        Error::Format(format!(
            "{}: malformed safetensors header: {e}",
            path.display()
        ))
    })?;
    let obj = root
        .as_object()
        .ok_or_else(|| Error::Format(format!("{}: header is not a JSON object", path.display())))?;
    let data_size = file_size - 8 - hlen;
    let mut out = BTreeMap::new();
    for (name, v) in obj {
        if name == "__metadata__" {
            continue;
        }
        let t = parse_entry(path, name, v)?;
        if t.end > data_size {
            return Err(io(format!(
                "truncated: tensor {name:?} ends at byte {} but the file has {file_size} bytes",
                8 + hlen + t.end
            )));
        }
        out.insert(name.clone(), t);
    }
    Ok(out)
}
