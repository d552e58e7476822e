//! HTTP adapter tests: the app under `actix_web::test` over a mocked
//! `Minigroups` service.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod helpers;

mod auth;
mod errors;
mod openapi;
mod routes;
mod telemetry;
mod validation;
