//! Integration tests: one binary, run by `infra/dev test` against the emulator it starts
//! (`AWS_ENDPOINT_URL`). Each test provisions its own tables from template.yaml under a unique
//! prefix, so tests never see each other's data.

mod support;

mod ab_tests;
mod analytics;
mod audit_trail;
mod authorization;
mod aws_clients;
mod best_time;
mod campaigns;
mod cargo_lambda_fixtures;
mod consent;
mod contacts_create;
mod contacts_get_update_delete;
mod contacts_import;
mod contacts_list;
mod contract;
mod conversions;
mod domains;
mod emails;
mod erasure;
mod exports;
mod import_files;
mod imports_flow;
mod logs;
mod replies;
mod secrets;
mod sending;
mod sync;
mod template_consistency;
mod templates;
mod templates_install;
mod tracking;
mod trust;
mod webhooks;
