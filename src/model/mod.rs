//! Synthetic models: the presets (Mistral-7B's architecture, narrowed for a
//! CPU), `crossbench model make`, and the progress of writing weights.

pub mod make;
pub mod presets;
pub mod write_progress;
