//! Integration tests: the real `syndic` binary against a temporary
//! database and config, with feeds served from a loopback server.

mod common;
mod config;
mod corpus;
mod dedup;
mod feeds;
mod fetch;
mod manage;
mod read;
mod reading;
mod reliability;
mod server;
mod sync;
