//! What a fresh clone lacks, made on first use: the pinned Python
//! environment, the tokenizer and preset models (`first_use`), the BLAS
//! (`blas_choice`, `blas_probe`) and the Go toolchain and worker (`go_build`);
//! reading prompts with the model's tokenizer (`tokenizer`); where all of
//! it is, in a checkout or a bundle (`locate`); and `--device gpu`'s
//! preflight and GPU identity (`gpu_device`, `gpu_preflight`).

pub mod blas_choice;
pub mod blas_probe;
pub mod first_use;
pub mod go_build;
pub mod gpu_device;
pub mod gpu_preflight;
pub mod locate;
pub mod tokenizer;
