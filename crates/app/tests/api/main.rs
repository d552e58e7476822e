//! Black-box tests: the real binary, on SQLite and on PostgreSQL, against
//! stand-in upstream services on loopback.

mod helpers;

mod auth;
mod create;
mod events_and_download;
mod read_update;
mod recreate;
mod runs_anywhere;
