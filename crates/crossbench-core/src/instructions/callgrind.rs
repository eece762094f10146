//! Reads a callgrind output file into instructions executed per object file
//! (self cost, summed over every function of the object and every thread).
//!
//! The format (valgrind's docs/callgrind-format): `ob=`, `fl=`, `fn=` set
//! the current object, file and function, with name compression
//! (`ob=(3) /path` defines id 3, a later `ob=(3)` reuses it); `cob=`, `cfn=`
//! name a call's target and may define ids too; a `calls=` line is followed by
//! one cost line holding the call's *inclusive* cost, which is the callee's
//! and must not be added to the caller; every other line starting with a
//! position (a number, `+n`, `-n` or `*`) is a self-cost line.

use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CallgrindError {
    #[error("line {line}: {what}")]
    Format { line: usize, what: String },
    #[error("no `events:` line naming Ir: not a callgrind output file")]
    NoIr,
}

/// Instructions (the `Ir` event) per object file, as callgrind names them
/// (the path of the ELF object, or `???` where it knew none).
pub fn ir_per_object(text: &str) -> Result<BTreeMap<String, u64>, CallgrindError> {
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut object = String::from("???");
    let mut ir_column = None;
    let mut positions = 1; // `positions: line` unless the file says otherwise
    let mut skip_next_cost = false;
    let mut totals: BTreeMap<String, u64> = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        if let Some(kinds) = line.strip_prefix("positions:") {
            positions = kinds.split_whitespace().count().max(1);
            continue;
        }
        if let Some(events) = line.strip_prefix("events:") {
            ir_column = events.split_whitespace().position(|e| e == "Ir");
            continue;
        }
        if let Some(rest) = line.strip_prefix("ob=") {
            object = resolve(&mut names, rest, line_no)?;
        } else if let Some(rest) = line.strip_prefix("cob=") {
            resolve(&mut names, rest, line_no)?; // may define an id used later
        } else if line.starts_with("calls=") {
            skip_next_cost = true;
        } else if starts_with_position(line) {
            if std::mem::take(&mut skip_next_cost) {
                continue;
            }
            let column = ir_column.ok_or(CallgrindError::NoIr)?;
            // Positions first, then the events; trailing zero costs may be left out.
            let ir = line
                .split_whitespace()
                .nth(positions + column)
                .unwrap_or("0");
            let ir: u64 = ir.parse().map_err(|_| CallgrindError::Format {
                line: line_no,
                what: format!("cost `{ir}` is not a count"),
            })?;
            *totals.entry(object.clone()).or_default() += ir;
        }
    }
    if ir_column.is_none() {
        return Err(CallgrindError::NoIr);
    }
    Ok(totals)
}

fn starts_with_position(line: &str) -> bool {
    matches!(
        line.as_bytes().first(),
        Some(b'0'..=b'9' | b'+' | b'-' | b'*')
    )
}

/// `(id) name` defines id, `(id)` refers to it, a bare `name` is itself.
fn resolve(
    names: &mut BTreeMap<String, String>,
    spec: &str,
    line: usize,
) -> Result<String, CallgrindError> {
    let spec = spec.trim();
    let Some(rest) = spec.strip_prefix('(') else {
        return Ok(spec.to_string());
    };
    let (id, name) = rest.split_once(')').ok_or_else(|| CallgrindError::Format {
        line,
        what: format!("unclosed name id in `{spec}`"),
    })?;
    let name = name.trim();
    if !name.is_empty() {
        names.insert(id.to_string(), name.to_string());
        return Ok(name.to_string());
    }
    names
        .get(id)
        .cloned()
        .ok_or_else(|| CallgrindError::Format {
            line,
            what: format!("name id ({id}) used before it was defined"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# callgrind format
version: 1
positions: line
events: Ir
summary: 175

ob=(1) /bin/worker
fl=(1) ???
fn=(1) main
0 10
cob=(2) /lib/libc.so.6
cfi=(2) ???
cfn=(2) malloc
calls=2 0
0 100
0 5

ob=(2)
fl=(2)
fn=(2)
0 40
+1 20

ob=(1)
fn=(3) loop
* 0
";

    #[test]
    fn sums_self_cost_per_object_and_skips_inclusive_call_costs() {
        let t = ir_per_object(SAMPLE).unwrap();
        assert_eq!(t["/bin/worker"], 15);
        assert_eq!(t["/lib/libc.so.6"], 60);
    }

    #[test]
    fn refuses_text_without_an_ir_event_and_undefined_ids() {
        assert_eq!(ir_per_object("fn=main\n0 5\n"), Err(CallgrindError::NoIr));
        let err = ir_per_object("events: Ir\nob=(7)\n").unwrap_err();
        assert!(err.to_string().contains("(7) used before"), "{err}");
    }

    #[test]
    fn finds_ir_among_several_events() {
        let t = ir_per_object("events: Dr Ir\nob=x\n0 3 9\n").unwrap();
        assert_eq!(t["x"], 9);
        let t = ir_per_object("positions: instr line\nevents: Ir\nob=x\n0x10 3 9\n").unwrap();
        assert_eq!(t["x"], 9);
    }
}
