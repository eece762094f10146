//! Core of crossbench: the worker line protocol, the mock engine, backends,
//! the driver that runs scenarios against worker processes, statistics,
//! results and their exports.
//!
//! Measurement (driver, worker), statistics (stats) and reporting (export)
//! are kept apart so each can be tested on its own.

pub mod affinity;
pub mod agreement;
pub mod analysis;
pub mod attribution;
pub mod backend;
pub mod baseline;
pub mod clock;
pub mod design;
pub mod driver;
pub mod environment;
pub mod export;
pub mod footprint;
pub mod gate;
pub mod gpu;
pub mod gpu_run;
pub mod host_work;
pub mod instructions;
pub mod interrupt;
pub mod machine_memory;
pub mod microbench;
pub mod mock;
pub mod overhead;
pub mod phases;
pub mod protocol;
pub mod results;
pub mod scenario;
pub mod serve;
pub mod stats;
mod summaries;
#[cfg(test)]
mod test_fixtures;
pub mod units;
pub mod worker;

pub use backend::{
    Backend, BackendError, BackendRegistry, ForeignWorkerBackend, LaunchContext, MockBackend,
    StampSource, TwinBackend, WorkerSpec,
};
pub use design::{balanced_order, williams_order, Residency, ResolutionTarget};
pub use driver::{run_bench, BenchPlan, DriverError, RunOutcome};
pub use environment::Environment;
pub use interrupt::{install_interrupt_handler, interrupt_requested};
pub use mock::{MockConfig, MockEngine};
pub use protocol::{
    serve_in_process, EngineError, Event, GenRequest, GenStats, InProcessEngine, LoadInfo, Request,
};
pub use results::{BackendStatus, BenchResults, SCHEMA_VERSION};
pub use scenario::{list_scenarios, load_scenario, LoadedScenario, Scenario, ScenarioError};
