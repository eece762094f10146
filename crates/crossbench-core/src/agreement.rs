//! Token agreement: every backend's greedy ids against the first ok
//! backend's. A mismatch means the implementations do not compute the same
//! thing, which would make their timings incomparable, so it is reported
//! loudly (results, summary.md and stderr).

pub use crate::results::{Agreement, AgreementEntry};
use crate::results::{BackendResult, BackendStatus};

pub fn compute_agreement(backends: &[BackendResult], greedy: bool) -> Agreement {
    if !greedy {
        return Agreement {
            note: "temperature > 0: sampled ids are not expected to agree".into(),
            all_match: true,
            ..Agreement::default()
        };
    }
    let reference = backends
        .iter()
        .find(|b| b.status == BackendStatus::Ok && b.reps.iter().any(|r| !r.token_ids.is_empty()));
    let Some(reference) = reference else {
        return Agreement {
            note: "no ok backend produced tokens".into(),
            all_match: true,
            ..Agreement::default()
        };
    };
    let ref_ids = &reference.reps[0].token_ids;
    let mut entries = Vec::new();
    for backend in backends {
        for rep in backend.reps.iter().filter(|r| !r.token_ids.is_empty()) {
            let first_mismatch = first_difference(ref_ids, &rep.token_ids);
            entries.push(AgreementEntry {
                backend: backend.name.clone(),
                rep: rep.index,
                matches: first_mismatch.is_none(),
                first_mismatch,
                reference_len: ref_ids.len(),
                backend_len: rep.token_ids.len(),
            });
        }
    }
    Agreement {
        applicable: true,
        note: format!("greedy ids compared with {} rep 0", reference.name),
        reference: Some(reference.name.clone()),
        all_match: entries.iter().all(|e| e.matches),
        entries,
    }
}

fn first_difference(a: &[u32], b: &[u32]) -> Option<usize> {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => Some(i),
        None if a.len() != b.len() => Some(a.len().min(b.len())),
        None => None,
    }
}

impl Agreement {
    /// One line per mismatching backend, for stderr and summary.md.
    pub fn mismatch_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        for e in self.entries.iter().filter(|e| !e.matches) {
            let line = format!(
                "TOKEN MISMATCH: {} rep {} differs from {} at token {} ({} vs {} tokens)",
                e.backend,
                e.rep,
                self.reference.as_deref().unwrap_or("?"),
                e.first_mismatch.unwrap_or(0),
                e.backend_len,
                e.reference_len
            );
            lines.push(line);
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::RepRecord;

    fn backend(name: &str, status: BackendStatus, reps: &[&[u32]]) -> BackendResult {
        let mut b = BackendResult::new(name, "");
        b.status = status;
        b.reps = reps
            .iter()
            .enumerate()
            .map(|(i, ids)| RepRecord {
                index: i as u32,
                token_ids: ids.to_vec(),
                ..RepRecord::default()
            })
            .collect();
        b
    }

    #[test]
    fn first_ok_backend_is_the_reference_and_mismatches_are_found() {
        let backends = [
            backend("dead", BackendStatus::Failed, &[&[9, 9]]),
            backend("a", BackendStatus::Ok, &[&[1, 2, 3], &[1, 2, 3]]),
            backend("b", BackendStatus::Ok, &[&[1, 2, 3]]),
            backend("c", BackendStatus::Ok, &[&[1, 5, 3]]),
            backend("d", BackendStatus::Ok, &[&[1, 2]]),
        ];
        let agreement = compute_agreement(&backends, true);
        assert_eq!(agreement.reference.as_deref(), Some("a"));
        assert!(!agreement.all_match);
        let bad: Vec<(&str, Option<usize>)> = agreement
            .entries
            .iter()
            .filter(|e| !e.matches)
            .map(|e| (e.backend.as_str(), e.first_mismatch))
            .collect();
        assert_eq!(bad, vec![("dead", Some(0)), ("c", Some(1)), ("d", Some(2))]);
        assert_eq!(agreement.mismatch_lines().len(), 3);
        assert!(compute_agreement(&backends, false).all_match);
    }
}
