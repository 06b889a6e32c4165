//! The one integration-test target. Layers (CONVENTIONS.md): parse round-trips on payloads
//! captured from real servers (`fixtures`), store tests on SQLite and PostgreSQL (`store`),
//! HTTP tests through `app().oneshot()` (`api`, `discovery`), and real `guildhall`
//! processes on loopback (`process`).

mod support;

mod api;
mod bad_input;
mod corpus;
mod delivery;
mod discovery;
mod federation;
mod fedify;
mod fixtures;
mod fuzz;
mod hostile;
mod http;
mod inbound;
mod leadership;
mod moderation;
mod policy;
mod privacy;
mod process;
mod refused;
mod rejections;
mod signatures;
mod store;
mod trust;
mod web;
