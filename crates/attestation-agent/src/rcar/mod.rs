//! The RCAR (KBS protocol 0.4.0) client and the small HTTP/1.1 stack it runs on.

pub mod client;
pub mod http;

pub use client::RcarClient;
pub use http::HttpClient;
