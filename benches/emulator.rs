//! Placeholder: the emulator benchmark is being written.
fn main() {}
