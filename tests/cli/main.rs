//! Integration tests: the real `syndic` binary against a temporary
//! database and config, with feeds served from a loopback server.

mod common;
mod config;
mod corpus;
mod dedup;
mod feeds;
mod fetch;
mod filters;
mod manage;
mod outputs;
mod parse;
mod read;
mod reading;
mod readme;
mod reliability;
mod review;
mod robust;
mod search_bounds;
mod server;
mod stories;
mod sync;
mod usage;
