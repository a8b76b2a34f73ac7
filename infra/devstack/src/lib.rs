//! The local stack: AWS emulated by moto on loopback, provisioned from `template.yaml` itself, and
//! a gateway that serves every route of the route table by calling the same handler fns the
//! Lambda binaries call, behind an emulation of the API Gateway JWT authorizer.

pub mod api_page;
pub mod apps;
pub mod auth;
pub mod bench_e2e;
pub mod bench_events;
pub mod bench_render;
pub mod bench_send;
pub mod bench_stack;
pub mod consumers;
pub mod counting;
pub mod dns;
pub mod fake_providers;
pub mod fake_sources;
pub mod gateway;
pub mod generate;
pub mod inbound;
pub mod inject;
pub mod intercepted;
pub mod outbox;
pub mod provider_events;
pub mod providers;
pub mod provision;
pub mod provision_events;
pub mod replay;
pub mod seed;
pub mod stack;
pub mod template;

use std::path::PathBuf;

/// The repository root: `DEVSTACK_ROOT` when set (infra/dev sets it), else where this crate was
/// built from.
pub fn repo_root() -> PathBuf {
    std::env::var_os("DEVSTACK_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")))
}
