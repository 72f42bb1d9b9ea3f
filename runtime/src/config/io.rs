//! Placeholder.
use super::{ChipConfig, ConfigError};
use std::path::Path;
/// Read.
pub fn read(_p: &Path) -> Result<ChipConfig, ConfigError> { todo!() }
/// Write.
pub fn write(_p: &Path, _c: &ChipConfig) -> Result<(), ConfigError> { todo!() }
/// Decode.
pub fn decode(_b: &[u8]) -> Result<ChipConfig, ConfigError> { todo!() }
/// Encode.
pub fn encode(_c: &ChipConfig) -> Result<Vec<u8>, ConfigError> { todo!() }
