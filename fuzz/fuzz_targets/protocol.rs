//! The worker line protocol (crossbench_core::protocol): event lines the
//! driver reads from a worker's stdout (`Event::parse`) and request lines a
//! worker reads from its stdin (`Request::parse`). Whatever parses must
//! serialize and parse back to the same value.
#![no_main]

use crossbench_core::protocol::{Event, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(event) = Event::parse(line) {
        let again = event.to_line();
        assert!(!again.is_empty() && !again.contains('\n'), "{again:?}");
        assert_eq!(Event::parse(&again).ok().as_ref(), Some(&event), "{again}");
    }
    if let Ok(request) = Request::parse(line) {
        let again = request.to_line();
        assert!(!again.contains('\n'), "{again:?}");
        assert_eq!(Request::parse(&again).as_ref(), Ok(&request), "{again}");
    }
});
