//! Table cells that describe a backend's state, shared by the run page's
//! tables and its metadata section.

use crate::html::Cell;
use crate::view::{BackendView, State};

/// "ok (5 reps)", "absent: not in this run", "failed (2 reps kept)".
pub(crate) fn status_cell(b: &BackendView) -> Cell {
    match &b.state {
        State::Ok => Cell::Text(format!("ok ({} reps)", b.reps)),
        State::Absent => Cell::Text("absent: not in this run".into()),
        State::NotOk(s, _) => Cell::Text(format!("{s} ({} reps kept)", b.reps)),
    }
}

pub(crate) fn row_class(b: &BackendView) -> Option<&'static str> {
    (b.state != State::Ok).then_some("absent")
}
