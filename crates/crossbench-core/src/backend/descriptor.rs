//! What a backend is, apart from how it starts: its caller language, the
//! shape of its crossings, its role in a comparison and where it sits in
//! tables. One table here holds every known backend's descriptor, so no
//! other code recognises a backend by its name: the driver records each
//! backend's descriptor in results.json, and results written before that
//! field existed are described by this table, by name.

use serde::{Deserialize, Serialize};

/// The language of a backend's consumer: the caller side of its C ABI
/// crossings (the side that holds each token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallerLanguage {
    Python,
    Rust,
    Cpp,
    Go,
}

impl CallerLanguage {
    /// As tables write it: "Rust", "C++", "Go", "Python".
    pub fn label(self) -> &'static str {
        match self {
            CallerLanguage::Python => "Python",
            CallerLanguage::Rust => "Rust",
            CallerLanguage::Cpp => "C++",
            CallerLanguage::Go => "Go",
        }
    }
}

/// How tokens cross into and out of MLX while generating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrossingShape {
    /// One pipe message per token between processes.
    PipePerToken,
    /// The caller owns the loop: one C call per token.
    CallPerToken,
    /// One C call per generation, one callback into the caller per token.
    CallbackPerToken,
    /// One call to start, one to wait; tokens come from a C++ thread through
    /// a callback per token into a channel.
    ThreadStream,
    /// The model written in the caller's language: one C call per MLX operation.
    CallPerOp,
    /// Nothing crosses a language boundary (the floor, the mock engine).
    NoCrossing,
    /// A backend this table does not know (a results file from elsewhere).
    Unknown,
}

/// What a backend stands for in a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendRole {
    /// The pure C++ runner every other backend is compared with.
    Floor,
    /// mlx-lm's own loop in Python: the status quo the note measures against.
    Reference,
    /// A crossing design under test.
    Subject,
    /// No MLX at all: the harness's own tests.
    Mock,
    /// Another engine than the shim's (mlx-lm's own `BatchGenerator` under
    /// `serve`): shown as its own row, never checked for equal steps or ids.
    OtherEngine,
}

/// One backend's identity, recorded per backend in results.json.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendDescriptor {
    pub caller: CallerLanguage,
    pub crossing: CrossingShape,
    pub role: BackendRole,
    /// One of the design note's four backends: a real run that has any of
    /// them is expected to have all, and the report marks the missing ones.
    pub canonical: bool,
    /// Position in tables (smaller first); unknown backends come last.
    pub display_order: u32,
}

impl BackendDescriptor {
    /// What an unknown name is taken for: a Rust consumer under test, shown last.
    pub const UNKNOWN: BackendDescriptor = BackendDescriptor {
        caller: CallerLanguage::Rust,
        crossing: CrossingShape::Unknown,
        role: BackendRole::Subject,
        canonical: false,
        display_order: u32::MAX,
    };

    pub fn is_floor(&self) -> bool {
        self.role == BackendRole::Floor
    }

    pub fn is_mock(&self) -> bool {
        self.role == BackendRole::Mock
    }
}

/// A known backend: its name, descriptor and chart colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownBackend {
    pub name: &'static str,
    pub descriptor: BackendDescriptor,
    /// RGB, the same in every chart and table; None: derived from the name.
    pub colour: Option<[u8; 3]>,
}

/// The names of the backends this project defines.
pub mod names {
    pub const PYTHON_SUBPROCESS: &str = "python-subprocess";
    pub const FFI_TOKEN: &str = "ffi-token";
    pub const FFI_BATCHED: &str = "ffi-batched";
    pub const NATIVE_CPP: &str = "native-cpp";
    pub const GO_CGO_TOKEN: &str = "go-cgo-token";
    pub const GO_CGO_BATCHED: &str = "go-cgo-batched";
    pub const GO_CGO_STREAM: &str = "go-cgo-stream";
    pub const MLX_RS: &str = "mlx-rs";
    pub const MOCK: &str = "mock";
    pub const MLX_LM_BATCH: &str = "mlx-lm-batch";
}

const fn known(
    name: &'static str,
    caller: CallerLanguage,
    crossing: CrossingShape,
    role: BackendRole,
    canonical: bool,
    display_order: u32,
    colour: Option<[u8; 3]>,
) -> KnownBackend {
    KnownBackend {
        name,
        descriptor: BackendDescriptor {
            caller,
            crossing,
            role,
            canonical,
            display_order,
        },
        colour,
    }
}

use BackendRole::*;
use CallerLanguage::*;
use CrossingShape::*;

/// Every backend this project defines, in display order.
pub const KNOWN_BACKENDS: [KnownBackend; 10] = [
    known(
        names::PYTHON_SUBPROCESS,
        Python,
        PipePerToken,
        Reference,
        true,
        0,
        Some([0xd9, 0x5f, 0x02]),
    ),
    known(
        names::FFI_TOKEN,
        Rust,
        CallPerToken,
        Subject,
        true,
        1,
        Some([0x1f, 0x77, 0xb4]),
    ),
    known(
        names::FFI_BATCHED,
        Rust,
        CallbackPerToken,
        Subject,
        true,
        2,
        Some([0x2c, 0xa0, 0x2c]),
    ),
    known(
        names::NATIVE_CPP,
        Cpp,
        NoCrossing,
        Floor,
        true,
        3,
        Some([0x44, 0x44, 0x44]),
    ),
    known(
        names::GO_CGO_TOKEN,
        Go,
        CallPerToken,
        Subject,
        false,
        4,
        None,
    ),
    known(
        names::GO_CGO_BATCHED,
        Go,
        CallbackPerToken,
        Subject,
        false,
        5,
        None,
    ),
    known(
        names::GO_CGO_STREAM,
        Go,
        ThreadStream,
        Subject,
        false,
        6,
        None,
    ),
    known(
        names::MLX_RS,
        Rust,
        CallPerOp,
        Subject,
        false,
        7,
        Some([0xd6, 0x27, 0x28]),
    ),
    known(
        names::MLX_LM_BATCH,
        Python,
        PipePerToken,
        OtherEngine,
        false,
        8,
        None,
    ),
    known(
        names::MOCK,
        Rust,
        NoCrossing,
        Mock,
        false,
        9,
        Some([0x75, 0x70, 0xb3]),
    ),
];

/// The floor's name: the backend every other one is compared with.
pub const FLOOR: &str = names::NATIVE_CPP;

/// The known backend called `name`, or the one an A/A twin or an A/B base
/// worker `name` stands for.
pub fn known_backend(name: &str) -> Option<&'static KnownBackend> {
    let base = name
        .strip_suffix(super::TwinBackend::SUFFIX)
        .or_else(|| super::ForeignWorkerBackend::original_of(name))
        .unwrap_or(name);
    KNOWN_BACKENDS.iter().find(|k| k.name == base)
}

/// The descriptor of `name` by the table (twins as their original);
/// `BackendDescriptor::UNKNOWN` for a name it lacks.
pub fn descriptor_of(name: &str) -> BackendDescriptor {
    known_backend(name).map_or(BackendDescriptor::UNKNOWN, |k| k.descriptor)
}

/// The chart colour of exactly `name` (an A/A twin gets none: it is drawn
/// beside its original and must differ from it).
pub fn colour_of(name: &str) -> Option<[u8; 3]> {
    KNOWN_BACKENDS
        .iter()
        .find(|k| k.name == name)
        .and_then(|k| k.colour)
}

/// The canonical backends, in display order.
pub fn canonical_names() -> impl Iterator<Item = &'static str> {
    KNOWN_BACKENDS
        .iter()
        .filter(|k| k.descriptor.canonical)
        .map(|k| k.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twins_take_their_originals_descriptor_and_unknown_names_come_last() {
        assert!(descriptor_of("native-cpp~aa").is_floor());
        assert!(descriptor_of("native-cpp@base").is_floor());
        assert_eq!(descriptor_of("ffi-token@base"), descriptor_of("ffi-token"));
        assert_eq!(descriptor_of("go-cgo-stream").caller.label(), "Go");
        assert_eq!(
            descriptor_of("some-new-backend"),
            BackendDescriptor::UNKNOWN
        );
        let canonical: Vec<&str> = canonical_names().collect();
        assert_eq!(
            canonical,
            [
                "python-subprocess",
                "ffi-token",
                "ffi-batched",
                "native-cpp"
            ]
        );
        let orders: Vec<u32> = KNOWN_BACKENDS
            .iter()
            .map(|k| k.descriptor.display_order)
            .collect();
        assert!(
            orders.windows(2).all(|w| w[0] < w[1]),
            "table in display order"
        );
    }

    #[test]
    fn descriptor_round_trips_through_json() {
        let d = descriptor_of("ffi-batched");
        let text = serde_json::to_string(&d).unwrap();
        assert!(
            text.contains("\"crossing\":\"callback_per_token\""),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<BackendDescriptor>(&text).unwrap(), d);
    }
}
