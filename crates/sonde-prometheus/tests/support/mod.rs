#![allow(dead_code)]
pub mod http_client;
pub mod peers;
