//! results.json's per-backend descriptor: files written before it existed
//! read the table by name (here rather than in backend/, which results uses).

use crossbench_core::backend::descriptor_of;
use crossbench_core::results::BackendResult;

#[test]
fn results_without_a_recorded_descriptor_read_the_table() {
    let old = BackendResult::new("native-cpp~aa", "");
    assert_eq!(old.descriptor, None);
    assert!(old.descriptor().is_floor());
    let recorded = BackendResult {
        descriptor: Some(descriptor_of("mock")),
        ..BackendResult::new("native-cpp", "")
    };
    assert!(
        recorded.descriptor().is_mock(),
        "the record wins over the name"
    );
}
