//! syndic: a command-line feed aggregator that recognises syndicated copies
//! of the same story across feeds and groups them under their original.
//!
//! The pipeline, one module per stage: [`config`] → [`fetch`] → [`parse`] →
//! [`topics`] / [`dedup`] → [`store`]; [`sync`] drives it, [`commands`] and
//! [`output`] face the user.
#![deny(unsafe_code)]

pub mod cli;
pub mod commands;
pub mod config;
pub mod dedup;
pub mod error;
pub mod export;
pub mod feeds_file;
pub mod fetch;
pub mod import;
pub mod logging;
pub mod model;
pub mod output;
pub mod parse;
pub mod search;
pub mod store;
pub mod sync;
pub mod text;
pub mod topics;
pub mod urls;
