//! Prompt text to token ids with the model directory's tokenizer.json (the real
//! Mistral v3 tokenizer), through the `tokenizers` crate.

use anyhow::{anyhow, Result};
use std::path::Path;
use tokenizers::Tokenizer;

pub fn load(model_dir: &Path) -> Result<Tokenizer> {
    let path = model_dir.join("tokenizer.json");
    Tokenizer::from_file(&path).map_err(|e| anyhow!("cannot load {}: {e}", path.display()))
}

/// Ids with `<s>` first, as the post-processor of our tokenizer.json adds it.
pub fn encode(tokenizer: &Tokenizer, text: &str) -> Result<Vec<u32>> {
    let enc = tokenizer
        .encode(text, true)
        .map_err(|e| anyhow!("tokenizing the prompt: {e}"))?;
    Ok(enc.get_ids().to_vec())
}
