//! Placeholder, replaced by the helper.
/// Errors.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {}
