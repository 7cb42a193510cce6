//! Integration tests: the real `syndic` binary against a temporary
//! database and config, with feeds served from a loopback server.

mod common;
mod config;
mod corpus;
mod dedup;
mod feeds;
mod fetch;
mod read;
mod reliability;
mod search_bounds;
mod server;
mod sync;
